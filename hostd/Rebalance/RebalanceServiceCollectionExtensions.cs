using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OverlayKvm.Core.Api;

namespace OverlayKvm.HostDaemon.Rebalance;

internal static class RebalanceServiceCollectionExtensions
{
    /// <summary>
    /// Per-peer traffic sampling and <c>rebalance</c>. A cluster host registers the etcd exchange first
    /// (<see cref="Cluster.ClusterServiceCollectionExtensions"/>); TryAdd then leaves it in place.
    /// </summary>
    public static IServiceCollection AddOverlayRebalance(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<RebalanceOptions>().Bind(configuration.GetSection(RebalanceOptions.SectionName)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RebalanceOptions>, RebalanceOptionsValidator>());
        services.TryAddSingleton<ITrafficSummaryExchange, LocalTrafficSummaryExchange>();
        services.TryAddSingleton<PeerTrafficWindow>();
        services.TryAddSingleton<RebalanceLedger>();
        services.TryAddSingleton<VirshDomainMigrator>();
        services.TryAddSingleton<IDomainMigrator, ClusterDomainMigrator>();
        services.TryAddSingleton<RebalanceRunner>();
        services.AddHostedService<PeerTrafficCollectorService>();
        services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, RebalanceJsonContext.Default));
        return services;
    }
}
