using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using OverlayKvm.HostDaemon.Libvirt;
using OverlayKvm.HostDaemon.Placement;

namespace Microsoft.Extensions.DependencyInjection;

public static class LibvirtServiceCollectionExtensions
{
    /// <summary>
    /// Registers the libvirt integration: options "Libvirt" and "Placement" (validated on start), the event
    /// service (connect, callbacks, reconnect, equip), the hook handler, attach, placement and address learning. Needs an
    /// <see cref="OverlayKvm.Core.Store.IOverlayStore"/> registered by the host. Everything uses TryAdd so
    /// tests can replace parts.
    /// </summary>
    public static IServiceCollection AddLibvirtIntegration(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<LibvirtOptions>().Bind(configuration.GetSection(LibvirtOptions.SectionName)).ValidateOnStart();
        services.AddOptions<PlacementOptions>().Bind(configuration.GetSection(PlacementOptions.SectionName)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LibvirtOptions>, LibvirtOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PlacementOptions>, PlacementOptionsValidator>());

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<LibvirtConnectionHolder>();
        services.TryAddSingleton<DomainEquipper>();
        services.TryAddSingleton<DomainLifecycleFeed>();
        services.TryAddSingleton<HookJournal>();
        services.TryAddSingleton<PlacementPlanner>();
        services.TryAddSingleton(sp => new DomainIsolationCheck(sp.GetRequiredService<OverlayKvm.Core.Store.IOverlayStore>(),
            [sp.GetRequiredService<IOptions<LibvirtOptions>>().Value.AgentSocketDirectory,
             .. sp.GetService<IOptions<OverlayKvm.HostDaemon.Hosting.DaemonOptions>>() is { } daemon ? [daemon.Value.ChannelDir] : Array.Empty<string>()]));
        services.TryAddSingleton<QemuHookHandler>();
        services.TryAddSingleton<DomainAttachHandler>();
        // Live migration with engine regions (docs/migration.md): the source's domain-migrate, the destination's plug.
        services.TryAddSingleton<DomainMigrator>();
        services.TryAddSingleton<ArrivalRegionPlugger>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, LibvirtEventService>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, DomainRunStateRecorder>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, DomainAddressLearner>());

        services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, LibvirtJsonContext.Default));
        return services;
    }
}
