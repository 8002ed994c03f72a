using OverlayKvm.Core.Api;
using OverlayKvm.Core.Model;
using OverlayKvm.HostDaemon.Rebalance;

namespace OverlayKvm.HostDaemon.Tests.Rebalance;

/// <summary>Issue 15, automatic co-location: which member moves where, and what never moves.</summary>
public sealed class RebalancePlannerTests
{
    private static DomainRecord Dom(string name, string host, bool stopped = false) => new(name, null, host, null, 1, stopped);

    private static PeerPairTraffic Pair(string a, string hostA, string b, string hostB, double sealedRate, double engine = 0, bool coLocatable = true) =>
        new(a, hostA, b, hostB, sealedRate, engine, coLocatable);

    private static RebalanceInput Input(IReadOnlyList<DomainRecord> domains, IReadOnlyList<PeerPairTraffic> pairs, int capA = 4, int capB = 4,
        string[]? pinned = null, int movesLeft = 10, double min = 1) =>
        new(domains, [("hA", capA), ("hB", capB)], pinned ?? [], pairs, movesLeft, min);

    [Fact]
    public void ChattyPairOnTwoHosts_OneMovesToTheOther_WithTheBytesItTakesOffTheNetwork()
    {
        // vm1 (hA) talks to vm2 (hB) at 50 kB/s; vm3 on hB keeps hB fuller, so hA has more room and vm2 goes there.
        var plan = RebalancePlanner.Plan(Input([Dom("vm1", "hA"), Dom("vm2", "hB"), Dom("vm3", "hB")], [Pair("vm1", "hA", "vm2", "hB", 50_000)]));

        var move = Assert.Single(plan);
        Assert.Equal(("vm2", "hB", "hA", 50_000.0, 0.0), (move.Domain, move.From, move.To, move.BytesPerSecond, move.LostBytesPerSecond));
        Assert.Contains("vm2 exchanges 50000 B/s over the network with vm1 on hA", move.Reason);
        Assert.Contains("hA has room (2/4 used after the move)", move.Reason);
    }

    [Fact]
    public void PinnedDomain_NeverMoves_ItsPeerMovesInstead_BothPinned_NothingMoves()
    {
        var domains = new[] { Dom("vm1", "hA"), Dom("vm2", "hB"), Dom("vm3", "hB") };
        var pairs = new[] { Pair("vm1", "hA", "vm2", "hB", 50_000) };

        var move = Assert.Single(RebalancePlanner.Plan(Input(domains, pairs, pinned: ["vm2"])));
        Assert.Equal(("vm1", "hB"), (move.Domain, move.To));

        Assert.Empty(RebalancePlanner.Plan(Input(domains, pairs, pinned: ["vm1", "vm2"])));
    }

    [Fact]
    public void TargetFull_TheOtherDirection_BothFull_NothingMoves()
    {
        var domains = new[] { Dom("vm1", "hA"), Dom("vm2", "hB"), Dom("vm3", "hB") };
        var pairs = new[] { Pair("vm1", "hA", "vm2", "hB", 50_000) };

        var move = Assert.Single(RebalancePlanner.Plan(Input(domains, pairs, capA: 1, capB: 3)));
        Assert.Equal(("vm1", "hA", "hB"), (move.Domain, move.From, move.To));

        Assert.Empty(RebalancePlanner.Plan(Input(domains, pairs, capA: 1, capB: 2)));
    }

    [Fact]
    public void HostNotInTheLiveInventory_IsNoTarget()
    {
        var domains = new[] { Dom("vm1", "hA"), Dom("vm2", "hC") };
        var pairs = new[] { Pair("vm1", "hA", "vm2", "hC", 50_000) };

        var move = Assert.Single(RebalancePlanner.Plan(Input(domains, pairs)));
        Assert.Equal(("vm2", "hA"), (move.Domain, move.To));
    }

    [Fact]
    public void HourlyBound_LimitsTheMoves_ZeroLeft_NothingProposed()
    {
        var domains = new[] { Dom("a1", "hA"), Dom("b1", "hB"), Dom("a2", "hA"), Dom("b2", "hB") };
        var pairs = new[] { Pair("a1", "hA", "b1", "hB", 90_000), Pair("a2", "hA", "b2", "hB", 30_000) };

        Assert.Equal(2, RebalancePlanner.Plan(Input(domains, pairs)).Count);
        var one = Assert.Single(RebalancePlanner.Plan(Input(domains, pairs, movesLeft: 1)));
        Assert.Equal(90_000, one.BytesPerSecond); // the chattiest pair first
        Assert.Empty(RebalancePlanner.Plan(Input(domains, pairs, movesLeft: 0)));
    }

    [Fact]
    public void Ties_DecidedByFreeSlotsThenNames_SameInputSamePlan()
    {
        // Equal capacity and load: vm1 and vm2 gain the same; the name decides (vm1 moves to hB).
        var domains = new[] { Dom("vm2", "hB"), Dom("vm1", "hA") };
        var pairs = new[] { Pair("vm1", "hA", "vm2", "hB", 10_000) };

        var first = Assert.Single(RebalancePlanner.Plan(Input(domains, pairs)));
        Assert.Equal(("vm1", "hB"), (first.Domain, first.To));
        Assert.Equal(first, Assert.Single(RebalancePlanner.Plan(Input([.. domains.Reverse()], pairs))));
    }

    [Fact]
    public void MoveThatLosesMoreEngineTrafficThanItGains_NotProposed_AndEachDomainMovesOnce()
    {
        // vm1 talks 10 kB/s to vm2 on hB but 40 kB/s to vm3 beside it on hA (engine today). vm2 moving to hA gains
        // 10 kB/s and loses nothing: that is the move, and vm1 stays.
        var domains = new[] { Dom("vm1", "hA"), Dom("vm3", "hA"), Dom("vm2", "hB") };
        var pairs = new[] { Pair("vm1", "hA", "vm2", "hB", 10_000), Pair("vm1", "hA", "vm3", "hA", 0, engine: 40_000) };

        var move = Assert.Single(RebalancePlanner.Plan(Input(domains, pairs)));
        Assert.Equal(("vm2", "hA", 10_000.0), (move.Domain, move.To, move.BytesPerSecond));

        // vm2 pinned: moving vm1 to hB would cost 40 kB/s of engine traffic for 10 kB/s: nothing.
        Assert.Empty(RebalancePlanner.Plan(Input(domains, pairs, pinned: ["vm2"])));
    }

    [Fact]
    public void NotCoLocatable_StoppedOrBelowTheMinimum_NotProposed()
    {
        var domains = new[] { Dom("vm1", "hA"), Dom("vm2", "hB") };

        Assert.Empty(RebalancePlanner.Plan(Input(domains, [Pair("vm1", "hA", "vm2", "hB", 50_000, coLocatable: false)])));
        Assert.Empty(RebalancePlanner.Plan(Input(domains, [Pair("vm1", "hA", "vm2", "hB", 500)], min: 1024)));
        var stopped = new[] { Dom("vm1", "hA", stopped: true), Dom("vm2", "hB") };
        var move = Assert.Single(RebalancePlanner.Plan(Input(stopped, [Pair("vm1", "hA", "vm2", "hB", 50_000)])));
        Assert.Equal("vm2", move.Domain); // the running one may move to the stopped one's host; the stopped one never moves
    }
}
