using System.Net;
using OverlayKvm.Core.Cluster;
using OverlayKvm.Core.Model;
using OverlayKvm.HostDaemon.Placement;
using OverlayKvm.TestSupport;

namespace OverlayKvm.HostDaemon.Tests.Cluster;

/// <summary>Issue 11 (placement across hosts): the planner chooses among live hosts only; this host always counts.</summary>
public sealed class LivePlacementTests
{
    private readonly InMemoryOverlayStore _store = new();

    private PlacementPlanner Planner(IHostLiveness liveness) =>
        new(_store, new StaticOptionsMonitor<PlacementOptions>(new PlacementOptions { HostName = "hA", LocalCapacity = 4 }), liveness);

    private void Seed()
    {
        _store.UpsertHost("hA", IPAddress.Parse("192.168.50.1"), 4);
        _store.UpsertHost("hB", IPAddress.Parse("192.168.50.2"), 4);
        _store.DefineGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed);
        _store.DefineApplication("web", "server", null, "vmB", []);
        _store.DefineApplication("web", "client", null, "vm-new", []);
        _store.UpsertDomain("vmB", null, "hB", null);
    }

    [Fact]
    public void Choose_GroupHostAlive_PicksIt()
    {
        Seed();

        var decision = Planner(new FixedHostLiveness("hA", "hB")).Choose("vm-new");

        Assert.Equal("hB", decision.Host);
    }

    [Fact]
    public void Choose_GroupHostDown_NotACandidate()
    {
        Seed();

        var decision = Planner(new FixedHostLiveness("hA")).Choose("vm-new");

        Assert.Equal("hA", decision.Host);
        Assert.DoesNotContain(decision.Candidates, c => c.Host == "hB");
    }

    [Fact]
    public void Inventory_LocalHostCountsEvenWithoutLease()
    {
        Seed();

        var hosts = Planner(new FixedHostLiveness()).Inventory();

        Assert.Equal([("hA", 4)], hosts);
    }
}
