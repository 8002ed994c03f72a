using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OverlayKvm.Core.Cluster;
using OverlayKvm.HostDaemon.Store.Etcd;

namespace OverlayKvm.HostDaemon.Cluster;

internal static class ClusterServiceCollectionExtensions
{
    /// <summary>
    /// A cluster host (etcd store): the lease that says this host is alive and the liveness of the others. Call
    /// before the single-host default (<see cref="EveryHostLive"/>) is registered with TryAdd.
    /// </summary>
    public static IServiceCollection AddClusterHosts(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<HostLeaseOptions>().Bind(configuration.GetSection(HostLeaseOptions.SectionName)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<HostLeaseOptions>, HostLeaseOptionsValidator>());
        // Its own connection: leases and liveness reads must not queue behind the store's large range reads.
        services.TryAddKeyedSingleton(nameof(ClusterServiceCollectionExtensions),
            static (provider, _) => new EtcdConnection(provider.GetRequiredService<IOptions<EtcdStoreOptions>>().Value));
        services.TryAddSingleton(static provider => ActivatorUtilities.CreateInstance<EtcdHostLiveness>(provider, Connection(provider)));
        services.TryAddSingleton<IHostLiveness>(static provider => provider.GetRequiredService<EtcdHostLiveness>());
        services.AddHostedService(static provider => provider.GetRequiredService<EtcdHostLiveness>());
        services.AddHostedService(static provider => ActivatorUtilities.CreateInstance<HostLeaseService>(provider, Connection(provider)));
        // Traffic summaries for rebalance go beside alive/HOST on the same connection (small puts every sample interval).
        services.TryAddSingleton<Rebalance.ITrafficSummaryExchange>(static provider =>
            ActivatorUtilities.CreateInstance<Rebalance.EtcdTrafficSummaryExchange>(provider, Connection(provider)));
        return services;
    }

    private static EtcdConnection Connection(IServiceProvider provider) =>
        provider.GetRequiredKeyedService<EtcdConnection>(nameof(ClusterServiceCollectionExtensions));
}
