using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OverlayKvm.Core.Config;
using OverlayKvm.Core.Store;
using OverlayKvm.HostDaemon.Store;
using OverlayKvm.HostDaemon.Store.Etcd;

namespace Microsoft.Extensions.DependencyInjection;

public static class EtcdStoreServiceCollectionExtensions
{
    /// <summary>
    /// Registers the etcd cluster store as <see cref="IOverlayStore"/> (singleton), <see cref="EtcdStoreOptions"/>
    /// bound to the "Etcd" section and validated on start. Everything with TryAdd*, so tests can swap any part;
    /// registered before <c>AddSqliteOverlayStore</c>, it wins.
    /// </summary>
    public static IServiceCollection AddEtcdOverlayStore(this IServiceCollection services)
    {
        services.AddOptions<EtcdStoreOptions>().BindConfiguration(EtcdStoreOptions.SectionName).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<EtcdStoreOptions>, EtcdStoreOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IOverlayStore>(static provider => new EtcdOverlayStore(
            provider.GetRequiredService<IOptions<EtcdStoreOptions>>().Value,
            provider.GetRequiredService<IOptions<StoreOptions>>().Value.LocalHost,
            provider.GetRequiredService<TimeProvider>(),
            provider.GetService<ILogger<EtcdOverlayStore>>()));
        services.TryAddSingleton(static provider => new DomainConfigBuilder(provider.GetRequiredService<IOverlayStore>()));
        return services;
    }
}
