using OverlayKvm.Core.Credentials;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.Store;

namespace OverlayKvm.Core.Tests.Credentials;

public sealed class CredentialRotationTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Rotate_FromOneEpoch_AddsNextAndRetiresPreviousAfterGrace()
    {
        var existing = new[] { new GroupCredential("web", 1, GroupKeyGenerator.NewKey(), Now.AddDays(-1), null) };

        var plan = CredentialRotation.Rotate("web", existing, Now, TimeSpan.FromMinutes(5));

        Assert.Equal(2, plan.NewCredential.Epoch);
        Assert.Equal(Now, plan.NewCredential.CreatedAt);
        Assert.Null(plan.NewCredential.RetiresAt);
        Assert.Equal(GroupKeyGenerator.KeySize, plan.NewCredential.Key.Length);
        Assert.NotEqual(existing[0].Key, plan.NewCredential.Key);
        Assert.Equal([new CredentialRotation.Retirement(1, Now.AddMinutes(5))], plan.Retirements);
    }

    [Fact]
    public void Rotate_EarlierRetirementKept_DeadEpochsIgnored_EpochAboveHighest()
    {
        var existing = new[]
        {
            new GroupCredential("web", 3, [1], Now.AddDays(-3), Now.AddMinutes(-1)),
            new GroupCredential("web", 4, [2], Now.AddDays(-2), Now.AddMinutes(2)),
            new GroupCredential("web", 5, [3], Now.AddDays(-1), null),
        };

        var plan = CredentialRotation.Rotate("web", existing, Now, TimeSpan.FromMinutes(10));

        Assert.Equal(6, plan.NewCredential.Epoch);
        Assert.Equal([new CredentialRotation.Retirement(5, Now.AddMinutes(10))], plan.Retirements);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(31 * 24 * 60)]
    public void Rotate_GraceOutOfRange_Refused(int minutes)
    {
        var error = Assert.Throws<ModelValidationException>(() => CredentialRotation.Rotate("web", [], Now, TimeSpan.FromMinutes(minutes)));

        Assert.Equal("group web: grace period", error.Field);
    }

    [Fact]
    public void IsLive_RetirementInstant_IsNoLongerLive()
    {
        Assert.True(CredentialLifetime.IsLive((DateTimeOffset?)null, Now));
        Assert.True(CredentialLifetime.IsLive(Now.AddTicks(1), Now));
        Assert.False(CredentialLifetime.IsLive(Now, Now));
    }

    [Fact]
    public void NewKey_32RandomBytes_Distinct()
    {
        var keys = Enumerable.Range(0, 100).Select(_ => Convert.ToHexString(GroupKeyGenerator.NewKey())).ToList();

        Assert.All(keys, k => Assert.Equal(64, k.Length));
        Assert.Equal(100, keys.Distinct().Count());
    }
}
