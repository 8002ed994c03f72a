using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OverlayKvm.Core.Config;
using OverlayKvm.Core.Policy;
using OverlayKvm.Core.Store;
using OverlayKvm.HostDaemon.DirectoryService;
using OverlayKvm.HostDaemon.Policy;

namespace OverlayKvm.HostDaemon.Tests.Policy;

/// <summary>Policy defaults and trusted segments: every bad value reported with its key.</summary>
public sealed class PolicyOptionsTests
{
    [Fact]
    public void PolicyOptions_BadValues_EveryErrorWithItsKey()
    {
        var result = new PolicyOptionsValidator().Validate(null, new PolicyOptions { DefaultBetweenGroups = "maybe", DefaultWithinGroup = "" });
        Assert.True(result.Failed);
        Assert.Contains(result.Failures!, f => f.StartsWith("Policy:DefaultBetweenGroups: 'maybe'", StringComparison.Ordinal));
        Assert.Contains(result.Failures!, f => f.StartsWith("Policy:DefaultWithinGroup: is empty", StringComparison.Ordinal));
    }

    [Fact]
    public void PolicyOptions_Defaults_DenyBetweenAllowWithin()
    {
        var options = new PolicyOptions();
        Assert.True(new PolicyOptionsValidator().Validate(null, options).Succeeded);
        Assert.Equal(PolicyDefaults.Standard, PolicyOptionsValidator.ToDefaults(options));
        Assert.Equal(new PolicyDefaults(PolicyVerdict.Allow, PolicyVerdict.Deny), PolicyOptionsValidator.ToDefaults(new PolicyOptions { DefaultBetweenGroups = "Allow", DefaultWithinGroup = "deny" }));
    }

    [Fact]
    public void AddOverlayPolicy_BadSections_OneExceptionListingAll()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Policy:DefaultWithinGroup"] = "sometimes",
            ["Directory:TrustedSegments:0"] = "10.0.0.0/33",
        }).Build();

        var e = Assert.Throws<OptionsValidationException>(() => new ServiceCollection().AddOverlayPolicy(config));

        Assert.Equal(2, e.Failures.Count());
        Assert.Contains(e.Failures, f => f.StartsWith("Policy:DefaultWithinGroup:", StringComparison.Ordinal));
        Assert.Contains(e.Failures, f => f.StartsWith("Directory:TrustedSegments:0:", StringComparison.Ordinal));
    }

    [Fact]
    public void AddOverlayPolicy_DocumentBuilder_CarriesConfiguredDefaults()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Policy:DefaultWithinGroup"] = "deny" }).Build();
        using var temp = new Store.TempStore();
        var services = new ServiceCollection();
        services.AddSingleton<IOverlayStore>(temp.Open());
        services.AddSingleton(p => new DomainConfigBuilder(p.GetRequiredService<IOverlayStore>())); // as AddSqliteOverlayStore, before us
        services.AddOverlayPolicy(config);
        using var provider = services.BuildServiceProvider();

        var builder = provider.GetRequiredService<DomainConfigBuilder>();

        Assert.Equal(new PolicyDefaults(PolicyVerdict.Deny, PolicyVerdict.Deny), builder.PolicyDefaults);
        Assert.Single(services, d => d.ServiceType == typeof(DomainConfigBuilder));
    }

    [Fact]
    public void DirectoryOptions_MalformedOrEverythingSegments_Refused()
    {
        var result = new DirectoryOptionsValidator().Validate(null, new DirectoryOptions { TrustedSegments = ["192.168.0.0/16", "10.0.0.1/8", "0.0.0.0/0", "nonsense"] });
        Assert.True(result.Failed);
        Assert.Equal(3, result.Failures!.Count());
        Assert.Contains(result.Failures!, f => f.StartsWith("Directory:TrustedSegments:1", StringComparison.Ordinal) && f.Contains("did you mean 10.0.0.0/8"));
        Assert.Contains(result.Failures!, f => f.StartsWith("Directory:TrustedSegments:2", StringComparison.Ordinal) && f.Contains("every network"));
        Assert.Contains(result.Failures!, f => f.StartsWith("Directory:TrustedSegments:3", StringComparison.Ordinal));
    }
}
