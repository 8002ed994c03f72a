using System.Net;
using OverlayKvm.Core.Api;
using OverlayKvm.Core.Model;
using OverlayKvm.HostDaemon.Rebalance;
using OverlayKvm.TestSupport;

namespace OverlayKvm.HostDaemon.Tests.Rebalance;

/// <summary>From counter samples to rates per domain pair: windows, agent restarts, both hosts' views of one pair.</summary>
public sealed class PeerTrafficTests
{
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(60);

    private static AgentCounters Counters(params (string Peer, long Sealed, long Engine)[] peers) =>
        new("vm1", 1, [], new Dictionary<string, long>(), null, null, [])
        {
            Peers = [.. peers.Select(p => new AgentPeerCounters(p.Peer, new(0, 0, 0, p.Engine), new(0, p.Sealed / 2, 0, p.Sealed - p.Sealed / 2)))],
        };

    [Fact]
    public void Rates_GrowthOverTheWindowPerSecond_InAndOutTogether()
    {
        var w = new PeerTrafficWindow();
        var t0 = TestClock.Start;
        w.Record("vm1", t0, Counters(("vm2", 1_000, 0)), Window);
        w.Record("vm1", t0.AddSeconds(10), Counters(("vm2", 101_000, 5_000), ("vm3", 2_000, 0)), Window);

        var (rates, seconds) = w.Rates();
        Assert.Equal(10, seconds);
        Assert.Equal([new DomainPeerRate("vm1", "vm2", 10_000, 500), new DomainPeerRate("vm1", "vm3", 200, 0)], rates);
    }

    [Fact]
    public void Rates_OldSamplesLeaveTheWindow_AgentRestartDropsSamplesBeforeIt_OneSampleGivesNoRate()
    {
        var w = new PeerTrafficWindow();
        var t0 = TestClock.Start;
        w.Record("vm1", t0, Counters(("vm2", 0, 0)), Window);
        w.Record("vm1", t0.AddSeconds(60), Counters(("vm2", 600_000, 0)), Window);
        w.Record("vm1", t0.AddSeconds(120), Counters(("vm2", 660_000, 0)), Window);
        // The sample at t0 left the window: (660000 - 600000) / 60 s.
        Assert.Equal(1_000, Assert.Single(w.Rates().Rates).Sealed);

        w.Record("vm1", t0.AddSeconds(130), Counters(("vm2", 5_000, 0)), Window); // the agent restarted: counters from zero
        Assert.Empty(w.Rates().Rates);
        w.Record("vm1", t0.AddSeconds(140), Counters(("vm2", 15_000, 0)), Window);
        Assert.Equal(1_000, Assert.Single(w.Rates().Rates).Sealed);

        w.Retain(new HashSet<string>()); // vm1 left this host
        Assert.Empty(w.Rates().Rates);
    }

    [Fact]
    public void Combine_BothHostsCountTheSamePair_TakenOnceAtTheLargerView_CoLocatableOnlyWithASharedGroupWhoseEngineIsOn()
    {
        var store = new InMemoryOverlayStore();
        store.DefineGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed);
        store.DefineGroup("db", IPNetwork.Parse("10.2.0.0/16"), ProtectionLevel.Sealed);
        store.DefineApplication("web", "a", null, "vm1", []);
        store.DefineApplication("web", "b", null, "vm2", []);
        store.DefineApplication("db", "c", null, "vm3", []);
        store.DefineApplication("db", "d", null, "vm1", []);
        foreach (var (d, h) in new[] { ("vm1", "hA"), ("vm2", "hB"), ("vm3", "hB") }) store.UpsertDomain(d, null, h, null);
        var domains = store.ListDomains().ToDictionary(d => d.Name);

        var summaries = new[]
        {
            new HostTrafficSummary("hA", TestClock.Start, 60, [new("vm1", "vm2", 9_000, 0), new("vm1", "vm3", 4_000, 0), new("vm1", "vm9", 1, 0)]),
            new HostTrafficSummary("hB", TestClock.Start, 60, [new("vm2", "vm1", 10_000, 0), new("vm2", "vm2", 5, 0), new("vm3", "vm1", double.NaN, 0)]),
        };

        var pairs = PairTraffic.Combine(summaries, domains, store.ListApplications(), []);
        Assert.Equal([new PeerPairTraffic("vm1", "hA", "vm2", "hB", 10_000, 0, true), new PeerPairTraffic("vm1", "hA", "vm3", "hB", 4_000, 0, true)], pairs);

        store.SetEngineDisabled("db", true);
        pairs = PairTraffic.Combine(summaries, domains, store.ListApplications(), store.ListEngineDisabledGroups());
        Assert.False(pairs[1].CoLocatable);
    }
}
