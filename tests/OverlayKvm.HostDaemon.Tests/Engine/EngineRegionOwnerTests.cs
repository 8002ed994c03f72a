using OverlayKvm.Core.SharedMemory;
using OverlayKvm.HostDaemon.Engine;

namespace OverlayKvm.HostDaemon.Tests.Engine;

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class EngineRegionOwnerTests : IDisposable
{
    private readonly EngineFixture _f = new();

    [Fact]
    public void Ensure_CreatesTheFile_ExactSize_Mode0600_NamedAfterTheGroup()
    {
        EngineRegion region = _f.Owner.Ensure("web");
        string path = Path.Combine(_f.Directory, "overlaykvm-web");

        Assert.Equal(path, region.Mapping.Path);
        Assert.Equal(2 << 20, new FileInfo(path).Length);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.True(region.Control.IsEngineEnabled);
    }

    [Fact]
    public void Ensure_WithOwnerLibvirtQemu_ChownsTheFile_AsQemuRequires()
    {
        Assert.True(UnixAccounts.TryResolve("libvirt-qemu", out uint uid, out uint gid),
            "prerequisite missing: user libvirt-qemu (apt-get install libvirt-daemon-system)");
        _f.Options.OwnerUser = "libvirt-qemu";
        using EngineRegionOwner owner = _f.NewOwner();

        owner.Ensure("db");

        using var stat = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("stat", ["-c", "%u %g %a %s", owner.RegionPath("db")])
        {
            RedirectStandardOutput = true,
        })!;
        string line = stat.StandardOutput.ReadToEnd().Trim();
        stat.WaitForExit();
        Assert.Equal($"{uid} {gid} 600 {2 << 20}", line);
    }

    [Fact]
    public void Ensure_AfterADaemonRestart_AdoptsTheRegion_RingsKeepTheirData()
    {
        EngineRegion before = _f.Owner.Ensure("web");
        using (RingProducer producer = before.OpenProducer(0, 1))
        {
            producer.TryWrite([42]);
        }

        using EngineRegionOwner restarted = _f.NewOwner();
        EngineRegion after = restarted.Ensure("web");

        Assert.Equal(before.Generation, after.Generation);
        using RingConsumer consumer = after.OpenConsumer(0, 1);
        byte[] buffer = new byte[4];
        Assert.Equal(RingReadResult.Message, consumer.TryRead(buffer, out _));
        Assert.Equal(42, buffer[0]);
    }

    [Fact]
    public void Ensure_OverAnUnreadableRegion_ReinitialisesWithAHigherGeneration()
    {
        EngineRegion before = _f.Owner.Ensure("web");
        ulong generation = before.Generation;
        before.Mapping.GetSpan(0, 8).Fill(0xEE);
        _f.Time.Advance(TimeSpan.FromSeconds(5)); // generations come from the clock when the old one is unreadable

        using EngineRegionOwner restarted = _f.NewOwner();
        EngineRegion after = restarted.Ensure("web");

        Assert.True(after.Generation > generation, $"generation {after.Generation} must exceed {generation}");
        Assert.Equal(RegionHeaderStatus.Valid, after.CheckHeader());
        Assert.Equal(RegionHeaderStatus.GenerationChanged, before.CheckHeader());
    }

    [Fact]
    public void Recreate_BumpsTheGeneration_SoAttachedAgentsSeeIt()
    {
        EngineRegion before = _f.Owner.Ensure("web");
        using var agentMapping = SharedMemoryMapping.Open(before.Mapping.Path);
        Assert.Equal(RegionHeaderStatus.Valid, EngineRegion.TryAttach(agentMapping, out EngineRegion? agent));

        EngineRegion after = _f.Owner.Recreate("web");

        Assert.True(after.Generation > before.Generation);
        Assert.Equal(RegionHeaderStatus.GenerationChanged, agent!.CheckHeader());
        agent.Dispose();
    }

    [Theory]
    [InlineData("../etc")]
    [InlineData("a/b")]
    [InlineData("")]
    public void RegionName_RefusesGroupNamesThatAreNotSafeFileNames(string group)
    {
        Assert.Throws<ArgumentException>(() => _f.Owner.RegionName(group));
    }

    [Fact]
    public void Remove_DeletesTheFile()
    {
        _f.Owner.Ensure("db");

        _f.Owner.Remove("db");

        Assert.False(File.Exists(Path.Combine(_f.Directory, "overlaykvm-db")));
    }

    public void Dispose() => _f.Dispose();
}
