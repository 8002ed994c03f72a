using OverlayKvm.Core.Policy;
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
