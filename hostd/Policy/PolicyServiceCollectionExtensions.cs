using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OverlayKvm.Core.Api;
using OverlayKvm.Core.Config;
using OverlayKvm.Core.Store;
using OverlayKvm.HostDaemon.DirectoryService;
using OverlayKvm.HostDaemon.Policy;

// In the DI namespace (as AddSqliteOverlayStore) so overlayd's composition root needs no extra using.
namespace Microsoft.Extensions.DependencyInjection;

public static class PolicyServiceCollectionExtensions
{
    /// <summary>
    /// Policies and the directory: <see cref="PolicyOptions"/> ("Policy") and <see cref="DirectoryOptions"/>
    /// ("Directory") validated at registration and on start, <see cref="OverlayDirectoryProvider"/>, the document builder with the
    /// configured policy defaults, and the policy API's JSON contract. Call after the store is registered.
    /// </summary>
    public static IServiceCollection AddOverlayPolicy(this IServiceCollection services, IConfiguration configuration)
    {
        // Refuse bad options here, as overlayd does for its own: one OptionsValidationException listing every
        // error of both sections (several failing sections at host start would surface as an AggregateException).
        var policy = new PolicyOptions();
        configuration.GetSection(PolicyOptions.Section).Bind(policy);
        var directory = new DirectoryOptions();
        configuration.GetSection(DirectoryOptions.Section).Bind(directory);
        var failures = new List<string>();
        failures.AddRange(new PolicyOptionsValidator().Validate(null, policy).Failures ?? []);
        failures.AddRange(new DirectoryOptionsValidator().Validate(null, directory).Failures ?? []);
        if (failures.Count > 0) throw new OptionsValidationException(PolicyOptions.Section, typeof(PolicyOptions), failures);

        services.AddOptions<PolicyOptions>().Bind(configuration.GetSection(PolicyOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PolicyOptions>, PolicyOptionsValidator>());
        services.AddOptions<DirectoryOptions>().Bind(configuration.GetSection(DirectoryOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<DirectoryOptions>, DirectoryOptionsValidator>());
        services.TryAddSingleton<OverlayDirectoryProvider>();

        // Documents carry the daemon's defaults so agents decide as the daemon does.
        services.Replace(ServiceDescriptor.Singleton(static provider => new DomainConfigBuilder(provider.GetRequiredService<IOverlayStore>())
        {
            PolicyDefaults = PolicyOptionsValidator.ToDefaults(provider.GetRequiredService<IOptions<PolicyOptions>>().Value),
            Liveness = provider.GetService<OverlayKvm.Core.Cluster.IHostLiveness>() ?? OverlayKvm.Core.Cluster.EveryHostLive.Instance,
            // One classifier: the routes agents execute are the ones route-explain shows.
            Paths = provider.GetRequiredService<OverlayDirectoryProvider>().Paths,
        }));
        services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, PolicyJsonContext.Default));
        return services;
    }
}
