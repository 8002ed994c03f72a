using System.Text;
using System.Text.Json;
using OverlayKvm.Core.Channel;
using OverlayKvm.Core.SharedMemory;
using OverlayKvm.HostDaemon.Channel;
using OverlayKvm.HostDaemon.Engine;

namespace OverlayKvm.HostDaemon.Tests.Engine;

/// <summary>
/// Issue 14 item 7: region files in /dev/shm are created with O_EXCL; a file overlayd did not make (other owner,
/// mode, size, a symlink) is removed and created afresh, never adopted; a region that cannot be laid out becomes
/// "engine unavailable" for that domain instead of an exception that ends its channel.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class RegionFileHardeningTests : IDisposable
{
    private readonly EngineFixture _f = new();

    public void Dispose() => _f.Dispose();

    private string WebPath => Path.Combine(_f.Directory, "overlaykvm-web");

    [Fact]
    public void Ensure_WrongSizeFilePlanted_IsReplacedNotRefused()
    {
        File.WriteAllBytes(WebPath, Encoding.ASCII.GetBytes(new string('X', 8192)));

        EngineRegion region = _f.Owner.Ensure("web");

        Assert.Equal(2 << 20, new FileInfo(WebPath).Length);
        Assert.Equal("web", region.Group);
        Assert.NotEqual((byte)'X', File.ReadAllBytes(WebPath)[^1]);
    }

    [Fact]
    public void Ensure_ValidRegionOfAnotherOwner_IsReplacedNotAdopted()
    {
        Assert.True(UnixAccounts.TryResolve("nobody", out _, out _), "prerequisite missing: user nobody");
        _f.Options.OwnerUser = "nobody";
        ulong planted;
        using (EngineRegionOwner foreign = _f.NewOwner())
        {
            EngineRegion region = foreign.Ensure("web");
            using RingProducer producer = region.OpenProducer(0, 1);
            Assert.Equal(RingWriteResult.Written, producer.TryWrite([42]));
            planted = region.Generation;
        }

        _f.Options.OwnerUser = "";
        _f.Time.Advance(TimeSpan.FromSeconds(1));
        using EngineRegionOwner ours = _f.NewOwner();
        EngineRegion adopted = ours.Ensure("web");

        Assert.NotEqual(planted, adopted.Generation);
        using RingConsumer consumer = adopted.OpenConsumer(0, 1);
        Assert.Equal(RingReadResult.Empty, consumer.TryRead(new byte[4], out _));
    }

    [Fact]
    public void Ensure_SymlinkPlanted_IsReplaced_TargetUntouched()
    {
        string target = Path.Combine(_f.Directory, "victim");
        File.WriteAllText(target, "keep");
        File.CreateSymbolicLink(WebPath, target);

        _f.Owner.Ensure("web");

        Assert.Null(new FileInfo(WebPath).LinkTarget);
        Assert.Equal("keep", File.ReadAllText(target));
    }

    [Fact]
    public void Ensure_OwnRegionAfterRestart_IsStillAdopted()
    {
        ulong first = _f.Owner.Ensure("web").Generation;
        using EngineRegionOwner restarted = _f.NewOwner();
        Assert.Equal(first, restarted.Ensure("web").Generation);
    }

    [Fact]
    public void Register_RegionPathCannotBeLaidOut_AnswersEngineUnavailable_AndTheDispatcherKeepsServing()
    {
        // A non-empty directory at the region's path: neither openable nor removable as a file.
        Directory.CreateDirectory(Path.Combine(WebPath, "blocker"));
        var vm1 = new EngineHypercallDispatcher("vm1", _f.Registry);

        var answer = vm1.Dispatch(ChannelMessageType.Register,
            JsonSerializer.SerializeToUtf8Bytes(new EngineAddressRequest(7, "10.1.0.1"), ChannelJsonContext.Default.EngineAddressRequest));

        var parsed = ChannelConnection.TryParse(answer.Payload, ChannelJsonContext.Default.EngineRegisterAnswer, out string? error);
        Assert.NotNull(parsed);
        Assert.Equal((7L, false, "EngineUnavailable"), (parsed!.Id, parsed.Ok, parsed.Status));
        Assert.Contains("overlaykvm-web", parsed.Error);

        // db's region is fine: vm3 still registers through the same registry.
        var vm3 = new EngineHypercallDispatcher("vm3", _f.Registry);
        var db = vm3.Dispatch(ChannelMessageType.Register,
            JsonSerializer.SerializeToUtf8Bytes(new EngineAddressRequest(8, "10.2.0.1"), ChannelJsonContext.Default.EngineAddressRequest));
        Assert.True(ChannelConnection.TryParse(db.Payload, ChannelJsonContext.Default.EngineRegisterAnswer, out _)!.Ok);
    }
}
