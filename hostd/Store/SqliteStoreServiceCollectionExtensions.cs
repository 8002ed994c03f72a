using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OverlayKvm.Core.Config;
using OverlayKvm.Core.Store;
using OverlayKvm.HostDaemon.Store;

namespace Microsoft.Extensions.DependencyInjection;

public static class SqliteStoreServiceCollectionExtensions
{
    /// <summary>
    /// Registers the embedded SQLite store as <see cref="IOverlayStore"/> (singleton), <see cref="StoreOptions"/>
    /// bound to the "Store" section and validated on start, <see cref="TimeProvider.System"/> and a
    /// <see cref="DomainConfigBuilder"/>. Everything with TryAdd*, so tests can swap any part.
    /// </summary>
    public static IServiceCollection AddSqliteOverlayStore(this IServiceCollection services)
    {
        services.AddOptions<StoreOptions>().BindConfiguration(StoreOptions.SectionName).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<StoreOptions>, StoreOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IOverlayStore>(static provider =>
        {
            var options = provider.GetRequiredService<IOptions<StoreOptions>>().Value;
            return new SqliteOverlayStore(
                options.Path,
                options.LocalHost,
                provider.GetRequiredService<TimeProvider>(),
                provider.GetService<ILogger<SqliteOverlayStore>>());
        });
        services.TryAddSingleton(static provider => new DomainConfigBuilder(provider.GetRequiredService<IOverlayStore>()));
        return services;
    }
}
