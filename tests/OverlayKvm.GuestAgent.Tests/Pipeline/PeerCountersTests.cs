using OverlayKvm.Core.Wire;
using OverlayKvm.GuestAgent.Channel;
using OverlayKvm.GuestAgent.Pipeline;
using OverlayKvm.GuestAgent.Tests.Doubles;

namespace OverlayKvm.GuestAgent.Tests.Pipeline;

/// <summary>Issue 15: bytes per peer VM, network and engine apart, as overlayd reads them to plan co-location.</summary>
public sealed class PeerCountersTests
{
    [Fact]
    public void SealedPacket_CountedForThePeerAtBothEnds_DropsAndLocalPacketsAreNot()
    {
        var t = new TwoAgents();
        byte[] buffer = TwoAgents.NewBuffer();
        int n = TwoAgents.WritePacket(buffer, "10.1.0.1", "10.1.0.2", payload: 700);
        Assert.Null(t.SendA.Process(t.GroupId, buffer, n));
        Assert.Null(t.ReceiveB.Process(t.SenderA.LastFrame(), TwoAgents.VmAUnderlay));
        // Same VM (local) and a spoofed source: neither is traffic with a peer.
        Assert.Null(t.SendA.Process(t.GroupId, buffer, TwoAgents.WritePacket(buffer, "10.1.0.1", "10.1.0.3")));
        Assert.Equal(DropReason.Spoof, t.SendA.Process(t.GroupId, buffer, TwoAgents.WritePacket(buffer, "10.1.0.2", "10.1.0.1")));

        PeerCounters a = Assert.Single(t.CountersA.Peers());
        Assert.Equal("vmB", a.Domain);
        Assert.Equal((1L, (long)n, 0L, 0L), (a.Sealed.PacketsOut, a.Sealed.BytesOut, a.Sealed.PacketsIn, a.Engine.BytesOut));
        PeerCounters b = Assert.Single(t.CountersB.Peers());
        Assert.Equal("vmA", b.Domain);
        Assert.Equal((1L, (long)n, 0L), (b.Sealed.PacketsIn, b.Sealed.BytesIn, b.Sealed.BytesOut));
    }

    [Fact]
    public void PeerCounters_SurviveANewDocument_AndReachTheCounterReplySortedByDomain()
    {
        var t = new TwoAgents();
        byte[] buffer = TwoAgents.NewBuffer();
        int n = TwoAgents.WritePacket(buffer, "10.1.0.1", "10.1.0.2");
        Assert.Null(t.SendA.Process(t.GroupId, buffer, n));
        t.Publish(2);
        Assert.Null(t.SendA.Process(t.GroupId, buffer, TwoAgents.WritePacket(buffer, "10.1.0.1", "10.1.0.2")));

        Assert.Equal(2 * n, t.CountersA.ForPeer("vmB").Sealed.BytesOut);
        var report = new OverlayKvm.GuestAgent.Control.StatReport("vmA", 2, [], new Dictionary<string, long>(), [])
        {
            Peers = [new("vmB", new(0, 0, 0, 0), new(0, 0, 2, 2 * n))],
        };
        var counters = CounterRequestHandler.ToCounters(report);
        var peer = Assert.Single(counters.Peers);
        Assert.Equal(("vmB", 2L * n), (peer.Domain, peer.Sealed.BytesOut));
    }

    [Fact]
    public void RetainPeers_ForgetsVmsTheDocumentNoLongerNames()
    {
        var counters = new DatapathCounters();
        counters.ForPeer("vm2").Sealed.CountOut(10);
        counters.ForPeer("vm1").Sealed.CountOut(20);
        counters.ForPeer("vm3").Engine.CountIn(30);

        counters.RetainPeers(new HashSet<string>(["vm3", "vm1"]));

        var left = counters.Peers();
        Assert.Equal(["vm1", "vm3"], Array.ConvertAll(left, p => p.Domain));
        Assert.Equal(20, left[0].Sealed.BytesOut);
        Assert.Equal(0, counters.ForPeer("vm2").Sealed.BytesOut); // a VM that comes back starts again from zero
    }
}
