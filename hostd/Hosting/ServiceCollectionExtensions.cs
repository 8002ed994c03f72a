using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OverlayKvm.Core.Api;
using OverlayKvm.Core.Cluster;
using OverlayKvm.HostDaemon.Channel;
using OverlayKvm.HostDaemon.Cluster;
using OverlayKvm.HostDaemon.Engine;
using OverlayKvm.HostDaemon.Libvirt;
using OverlayKvm.HostDaemon.Placement;
using OverlayKvm.HostDaemon.Rebalance;
using OverlayKvm.HostDaemon.Store;

namespace OverlayKvm.HostDaemon.Hosting;

public static class ServiceCollectionExtensions
{
    /// <summary>overlayd's services. TryAdd* throughout so tests can substitute any part first.</summary>
    public static IServiceCollection AddOverlayHostDaemon(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<DaemonOptions>().Bind(configuration.GetSection(DaemonOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<DaemonOptions>, DaemonOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<LocalHost>();
        // The store lives in the state directory unless configured explicitly.
        services.AddOptions<StoreOptions>().Configure<IOptions<DaemonOptions>, LocalHost>((store, daemon, host) =>
        {
            if (string.IsNullOrEmpty(configuration[$"{StoreOptions.SectionName}:Path"]))
                store.Path = Path.Combine(daemon.Value.StateDir, "overlay.db");
            store.LocalHost = host.Name;
        });
        // --store etcd registers the cluster store first; the SQLite registration's TryAdd then leaves it in place.
        if (string.Equals(configuration[$"{StoreOptions.SectionName}:{nameof(StoreOptions.Kind)}"], StoreOptions.EtcdKind, StringComparison.Ordinal))
        {
            services.AddEtcdOverlayStore();
            // A cluster host: its lease (alive/HOST) and the other hosts' liveness replace "every host is alive".
            services.AddClusterHosts(configuration);
        }
        services.AddSqliteOverlayStore();
        // One host: every host is alive (the etcd branch above registered lease-backed liveness instead).
        services.TryAddSingleton<IHostLiveness>(EveryHostLive.Instance);
        services.AddOverlayEngine(configuration);
        services.AddOverlayPolicy(configuration);
        services.AddOverlayJobs(configuration);
        services.AddLibvirtIntegration(configuration);
        services.AddOverlayRebalance(configuration);
        // One truth for what libvirt and overlayd must agree on: the channel socket directory overlayd connects
        // to is the one libvirt binds, and the ivshmem size QEMU maps is the region size the engine creates
        // (QEMU refuses a backing file of another size). Explicit Libvirt:* settings still win.
        services.AddOptions<LibvirtOptions>().PostConfigure<IOptions<DaemonOptions>, IOptions<EngineOptions>>((libvirt, daemon, engine) =>
        {
            if (configuration[$"{LibvirtOptions.SectionName}:{nameof(LibvirtOptions.AgentSocketDirectory)}"] is null)
                libvirt.AgentSocketDirectory = daemon.Value.ChannelDir;
            if (configuration[$"{LibvirtOptions.SectionName}:{nameof(LibvirtOptions.ShmemSizeMiB)}"] is null)
                libvirt.ShmemSizeMiB = (int)(engine.Value.RegionSizeBytes >> 20);
        });
        // Placement reasons about "this host" too: the same name and capacity the inventory holds.
        services.AddOptions<PlacementOptions>().PostConfigure<LocalHost>((placement, host) =>
        {
            if (configuration[$"{PlacementOptions.SectionName}:{nameof(PlacementOptions.HostName)}"] is null)
                placement.HostName = host.Name;
            if (configuration[$"{PlacementOptions.SectionName}:{nameof(PlacementOptions.LocalCapacity)}"] is null)
                placement.LocalCapacity = host.Capacity;
        });

        services.AddHostedService<InventoryRegistration>();
        services.TryAddSingleton<ChannelSupervisorService>();
        services.AddHostedService(sp => sp.GetRequiredService<ChannelSupervisorService>());
        services.AddHostedService<AdminSocketPermissions>();
        services.AddSystemdReadiness();
        // Opt-in Prometheus endpoint (--metrics-listen): its own server, GET /metrics only.
        services.TryAddSingleton<Metrics.OverlayMetrics>();
        services.AddHostedService<Metrics.MetricsEndpointService>();

        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, ApiJsonContext.Default));
        return services;
    }
}
