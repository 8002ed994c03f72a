using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.SharedMemory;
using OverlayKvm.HostDaemon.Engine;
using OverlayKvm.HostDaemon.Libvirt;
using OverlayKvm.HostDaemon.Placement;
using OverlayKvm.TestSupport;

namespace OverlayKvm.HostDaemon.Tests.Libvirt;

/// <summary>
/// The qemu hook's <c>prepare begin</c> of a member domain lays out its groups' engine regions before QEMU maps
/// them (a first start on this host can come before the store change that makes the channel supervisor do it).
/// </summary>
public sealed class QemuHookEngineRegionTests : IDisposable
{
    private const string Ns = "https://overlaykvm.org/xmlns/domain/1";
    private readonly InMemoryOverlayStore _store = new();
    private readonly StaticOptionsMonitor<PlacementOptions> _placement = new(new PlacementOptions { HostName = "h1", LocalCapacity = 4 });
    private readonly string _dir = Directory.CreateDirectory($"/dev/shm/okvm-hook-engine-{Guid.NewGuid():N}").FullName;
    private readonly EngineRegionOwner _owner;
    private readonly EngineCounters _counters = new();
    private readonly EngineRegistry _engine;

    public QemuHookEngineRegionTests()
    {
        var options = Microsoft.Extensions.Options.Options.Create(new EngineOptions { Directory = _dir, RegionSizeBytes = 2 << 20, SlotCount = 4, OwnerUser = "" });
        _owner = new EngineRegionOwner(options, TimeProvider.System, NullLogger<EngineRegionOwner>.Instance);
        _engine = new EngineRegistry(_store, _owner, _counters, TimeProvider.System, options, NullLogger<EngineRegistry>.Instance);
    }

    public void Dispose()
    {
        _owner.Dispose();
        _counters.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void Evaluate_PrepareOfAMember_LaysOutItsGroupsRegion_ForeignDomainNone()
    {
        _store.DefineGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed);
        _store.DefineGroup("db", IPNetwork.Parse("10.2.0.0/16"), ProtectionLevel.Sealed);
        _store.DefineApplication("web", "front", IPAddress.Parse("10.1.0.1"), "vm1", []);
        var handler = new QemuHookHandler(_store, new PlacementPlanner(_store, _placement), _placement, new HookJournal(), TimeProvider.System,
            NullLogger<QemuHookHandler>.Instance, _engine);

        // A domain that is not ours: nothing is created.
        Assert.True(handler.Evaluate(new HookRequest("plain", "prepare", "begin", "-", TestDomains.Xml("plain"))).Allow);
        Assert.Empty(Directory.GetFiles(_dir));

        var doc = System.Xml.Linq.XDocument.Parse(TestDomains.Xml("vm1",
            $"<overlay:domain xmlns:overlay='{Ns}'><overlay:member group='web'/></overlay:domain>"));
        DomainXmlInjector.Inject(doc, new InjectionSettings("/run/overlaykvm", 2, false));
        var verdict = handler.Evaluate(new HookRequest("vm1", "prepare", "begin", "-", doc.ToString()));

        Assert.True(verdict.Allow, verdict.Reason);
        string web = Path.Combine(_dir, "overlaykvm-web");
        Assert.Equal(2 << 20, new FileInfo(web).Length);
        using (SharedMemoryMapping mapping = SharedMemoryMapping.Open(web, 2 << 20))
        {
            Assert.Equal(RegionHeaderStatus.Valid, EngineRegion.TryAttach(mapping, out EngineRegion? region));
            Assert.Equal("web", region!.Group);
            region.Dispose();
        }
        Assert.False(File.Exists(Path.Combine(_dir, "overlaykvm-db")), "vm1 is no member of db");
    }
}
