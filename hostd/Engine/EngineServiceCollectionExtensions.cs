using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using OverlayKvm.HostDaemon.Engine;

namespace Microsoft.Extensions.DependencyInjection;

public static class EngineServiceCollectionExtensions
{
    /// <summary>
    /// Registers the overlay acceleration engine: options from the <c>Engine</c> section of
    /// <paramref name="configuration"/> (validated at start), region owner, registry, counters and the maintenance
    /// service. Requires an <see cref="OverlayKvm.Core.Store.IOverlayStore"/> registration. Uses TryAdd* so tests can swap parts.
    /// </summary>
    public static IServiceCollection AddOverlayEngine(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<EngineOptions>()
            .Bind(configuration.GetSection(EngineOptions.SectionName))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<EngineOptions>, EngineOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<EngineCounters>();
        services.TryAddSingleton<EngineRegionOwner>();
        services.TryAddSingleton<EngineRegistry>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, EngineMaintenanceService>());
        return services;
    }
}
