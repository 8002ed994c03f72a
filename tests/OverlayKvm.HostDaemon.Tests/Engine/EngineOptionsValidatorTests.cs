using OverlayKvm.HostDaemon.Engine;

namespace OverlayKvm.HostDaemon.Tests.Engine;

public sealed class EngineOptionsValidatorTests
{
    [Fact]
    public void Defaults_AreValid()
    {
        var options = new EngineOptions { OwnerUser = "" };

        Assert.True(new EngineOptionsValidator().Validate(null, options).Succeeded);
    }

    [Fact]
    public void EveryProblem_IsReported_WithItsPath()
    {
        var options = new EngineOptions
        {
            Directory = "relative/dir",
            NamePrefix = "a/b",
            RegionSizeBytes = 3 << 20,
            SlotCount = 1,
            HeartbeatExpiry = TimeSpan.Zero,
            ScrubInterval = TimeSpan.FromSeconds(-1),
            OwnerUser = "no-such-user-okvm",
        };

        var failures = new EngineOptionsValidator().Validate(null, options).Failures!.ToArray();

        Assert.Equal(7, failures.Length);
        Assert.Contains(failures, f => f.StartsWith("Engine.Directory:", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Engine.NamePrefix:", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Engine.RegionSizeBytes:", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Engine.SlotCount:", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Engine.HeartbeatExpiry:", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Engine.ScrubInterval:", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Engine.OwnerUser:", StringComparison.Ordinal));
    }

    [Fact]
    public void TooManySlotsForTheRegion_IsExplained()
    {
        var options = new EngineOptions { OwnerUser = "", RegionSizeBytes = 1 << 20, SlotCount = 64 };

        string failure = Assert.Single(new EngineOptionsValidator().Validate(null, options).Failures!);
        Assert.Contains("enlarge the region", failure);
    }

    [Fact]
    public void LibvirtQemuOwner_ResolvesFromPasswd()
    {
        Assert.True(UnixAccounts.TryResolve("libvirt-qemu", out uint uid, out _),
            "prerequisite missing: user libvirt-qemu (apt-get install libvirt-daemon-system)");
        Assert.NotEqual(0u, uid);
    }
}
