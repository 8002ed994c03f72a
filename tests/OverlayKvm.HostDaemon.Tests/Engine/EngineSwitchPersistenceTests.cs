using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.SharedMemory;
using OverlayKvm.HostDaemon.Engine;
using OverlayKvm.HostDaemon.Store;
using OverlayKvm.HostDaemon.Tests.Store;

namespace OverlayKvm.HostDaemon.Tests.Engine;

/// <summary>Issue 14 item 9: engine-disable is an operator decision kept in the store, not in guest-writable memory.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class EngineSwitchPersistenceTests : IDisposable
{
    private readonly TempStore _temp = new();
    private readonly string _shm = Directory.CreateDirectory($"/dev/shm/okvm-hh-switch-{Guid.NewGuid():N}").FullName;
    private readonly EngineCounters _counters = new();
    private readonly List<IDisposable> _owners = [];

    public void Dispose()
    {
        _owners.ForEach(o => o.Dispose());
        _counters.Dispose();
        _temp.Dispose();
        Directory.Delete(_shm, recursive: true);
    }

    private EngineRegistry Daemon(SqliteOverlayStore store)
    {
        var options = Microsoft.Extensions.Options.Options.Create(new EngineOptions { Directory = _shm, RegionSizeBytes = 2 << 20, SlotCount = 4, OwnerUser = "" });
        var owner = new EngineRegionOwner(options, TimeProvider.System, NullLogger<EngineRegionOwner>.Instance);
        _owners.Add(owner);
        return new EngineRegistry(store, owner, _counters, TimeProvider.System, options, NullLogger<EngineRegistry>.Instance);
    }

    [Fact]
    public void EngineDisable_SurvivesAReboot_WhenTheRegionIsGone()
    {
        var store = _temp.Open();
        store.DefineGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed);
        store.DefineApplication("web", "front", IPAddress.Parse("10.1.0.1"), "vm1", []);
        EngineRegistry before = Daemon(store);
        before.PrepareRegion("web");
        Assert.Equal(EngineSwitchStatus.Changed, before.SetEnabled("web", false));

        // Reboot: /dev/shm is empty again, overlayd starts afresh over the same database.
        _owners.ForEach(o => o.Dispose());
        _owners.Clear();
        File.Delete(Path.Combine(_shm, "overlaykvm-web"));
        EngineRegistry after = Daemon(_temp.Open());
        after.PrepareRegion("web");

        Assert.False(after.IsEnabled("web"));
    }

    [Fact]
    public void EngineDisable_AGuestRewritingTheControlWord_WhileOverlaydIsDown_DoesNotReEnableIt()
    {
        var store = _temp.Open();
        store.DefineGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed);
        store.DefineApplication("web", "front", IPAddress.Parse("10.1.0.1"), "vm1", []);
        EngineRegistry before = Daemon(store);
        before.PrepareRegion("web");
        before.SetEnabled("web", false);

        // overlayd is down; a guest maps the region and flips the switch back on.
        _owners.ForEach(o => o.Dispose());
        _owners.Clear();
        using (var guestView = new EngineRegionOwner(Microsoft.Extensions.Options.Options.Create(new EngineOptions { Directory = _shm, RegionSizeBytes = 2 << 20, SlotCount = 4, OwnerUser = "" }),
                   TimeProvider.System, NullLogger<EngineRegionOwner>.Instance))
        {
            guestView.Ensure("web").Control.SetEngineEnabled(true);
        }

        EngineRegistry after = Daemon(_temp.Open());
        after.PrepareRegion("web");

        Assert.False(after.IsEnabled("web"));
        Assert.True(((EngineRegionOwner)_owners[0]).TryGet("web", out EngineRegion? region));
        Assert.False(region!.Control.IsEngineEnabled, "the region's control word must be put back to the store's decision");
    }
}
