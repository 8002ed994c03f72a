using System.Net;
using Microsoft.Extensions.Options;
using OverlayKvm.Core.Model;
using OverlayKvm.HostDaemon.Placement;
using OverlayKvm.TestSupport;

namespace OverlayKvm.HostDaemon.Tests.Placement;

/// <summary>Issue 5, Show 5 (planner): the group's host while it has room, another one when full, and why.</summary>
public sealed class PlacementPlannerTests
{
    private readonly InMemoryOverlayStore _store = new();

    private PlacementPlanner Planner(string local = "h1", int localCapacity = 16) =>
        new(_store, new StaticOptionsMonitor<PlacementOptions>(new PlacementOptions { HostName = local, LocalCapacity = localCapacity }));

    private void Seed()
    {
        _store.UpsertHost("h1", IPAddress.Parse("192.0.2.1"), 2);
        _store.UpsertHost("h2", IPAddress.Parse("192.0.2.2"), 4);
        _store.DefineGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed);
        _store.DefineApplication("web", "frontend", null, "vm-a", []);
        _store.DefineApplication("web", "backend", null, "vm-new", []);
        _store.UpsertDomain("vm-a", null, "h2", null);
    }

    [Fact]
    public void Choose_GroupHostHasCapacity_PicksItAndSaysWhy()
    {
        Seed();
        var decision = Planner().Choose("vm-new");

        Assert.Equal("h2", decision.Host);
        Assert.Equal(["web"], decision.Groups);
        Assert.Contains("host 'h2' runs 1 member domain(s) of group(s) web", decision.Reason);
        Assert.Contains("1/4 used", decision.Reason);
    }

    [Fact]
    public void Choose_GroupHostFull_PicksAnotherAndSaysSo()
    {
        Seed();
        _store.UpsertHost("h2", IPAddress.Parse("192.0.2.2"), 1);

        var decision = Planner().Choose("vm-new");

        Assert.Equal("h1", decision.Host);
        Assert.Contains("run on 'h2' 1/1, which is full", decision.Reason);
        Assert.Contains("host 'h1' has the most free capacity", decision.Reason);
    }

    [Fact]
    public void Choose_NoHostHasRoom_ReturnsNoHost()
    {
        Seed();
        _store.UpsertHost("h1", IPAddress.Parse("192.0.2.1"), 0);
        _store.UpsertHost("h2", IPAddress.Parse("192.0.2.2"), 1);

        var decision = Planner().Choose("vm-new");

        Assert.Null(decision.Host);
        Assert.StartsWith("no host has free capacity", decision.Reason);
    }

    [Fact]
    public void Choose_DomainAlreadyPlaced_DoesNotCountItself()
    {
        Seed();
        _store.UpsertHost("h2", IPAddress.Parse("192.0.2.2"), 2);
        _store.UpsertDomain("vm-new", null, "h2", null);

        var decision = Planner().Choose("vm-new");

        Assert.Equal("h2", decision.Host);
        Assert.Equal(1, decision.Candidates.Single(c => c.Host == "h2").Used);
    }

    [Fact]
    public void Choose_GroupNowhereYet_PrefersThisHostOnTies()
    {
        _store.UpsertHost("h0", IPAddress.Parse("192.0.2.9"), 16);
        _store.DefineGroup("db", IPNetwork.Parse("10.2.0.0/16"), ProtectionLevel.Sealed);

        var decision = Planner(local: "h1", localCapacity: 16).Choose("vm-db", ["db"]);

        Assert.Equal("h1", decision.Host);
        Assert.Contains("no member of group(s) db is placed yet", decision.Reason);
        Assert.Equal(2, decision.Candidates.Count);
    }

    [Fact]
    public void Inventory_LocalHostMissingFromStore_IsAddedWithConfiguredCapacity()
    {
        var inventory = Planner(local: "here", localCapacity: 3).Inventory();
        Assert.Equal([("here", 3)], inventory);
    }
}
