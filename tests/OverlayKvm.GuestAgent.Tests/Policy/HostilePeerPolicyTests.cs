using OverlayKvm.Core.Crypto;
using OverlayKvm.Core.Wire;
using OverlayKvm.GuestAgent.Config;
using OverlayKvm.GuestAgent.Pipeline;
using OverlayKvm.GuestAgent.Policy;
using OverlayKvm.GuestAgent.Tests.Doubles;

namespace OverlayKvm.GuestAgent.Tests.Policy;

/// <summary>
/// Issue 14 items 3 and 8: a hostile peer (vmB, with its real keys, skipping its own agent's checks) against the
/// receiver's stateful-reply check and rule tables.
/// </summary>
public sealed class HostilePeerPolicyTests
{
    private const uint VmBUnderlay = 0xC0000202;

    // Issue 14 item 3: replies were matched without the source port, so after B:40000 -> D:443, D could open
    // D:443 -> B:22 as a "reply".
    [Fact]
    public void Reply_FromTheOriginalPortToAnotherLocalPort_IsDeniedAtTheReceiver_TheRealReplyPasses()
    {
        var t = new TwoGroups(null, TwoGroups.Accept("G3", "G2", 443));
        Assert.Null(t.SendBToD(443, sourcePort: 40000));
        t.Pump();
        Assert.Equal(1, t.Bv.Sink.Count);

        Assert.Equal(DropReason.DeniedIngress, ForgeFromD(t, sourcePort: 443, destinationPort: 22));
        Assert.Equal(0, t.A.Sink.Count);

        Assert.Null(ForgeFromD(t, sourcePort: 443, destinationPort: 40000));
        Assert.Equal(1, t.A.Sink.Count);
    }

    // Issue 14 item 3, sender side: vmB's own agent does not treat D:443 -> B:22 as a reply either; it asks vmA,
    // whose policy says no.
    [Fact]
    public void Reply_ToAnotherLocalPort_IsNegotiatedBySendersAgent_AndRefused()
    {
        var t = new TwoGroups(null, TwoGroups.Accept("G3", "G2", 443));
        t.SendBToD(443, sourcePort: 40000);
        t.Pump();

        int length = TwoGroups.WriteTcp(t.Bv.Buffer, TwoGroups.D, TwoGroups.B, 443, 22);
        t.Bv.Send.Process(OverlayIds.GroupId("G3"), t.Bv.Buffer, length);
        t.Pump();

        Assert.Equal(0, t.A.Sink.Count);
        Assert.Equal(1, t.Bv.Transmission.Counters.NegotiationsSent);
        Assert.Equal(1, t.Bv.Transmission.Counters.NotAllowedReceived);
    }

    // Issue 14 item 8: denies of unsolicited data were cached, one rule per sprayed port, in a table all peers share.
    [Fact]
    public void UnsolicitedDeniedSpray_CachesNothing_AndSendsOneNoticePerInterval()
    {
        var t = new TwoGroups(null, TwoGroups.Accept("G2", "G3", 443));
        for (int port = 1; port <= 2000; port++)
        {
            Assert.Equal(DropReason.DeniedIngress, ForgeFromD(t, sourcePort: 50000, destinationPort: (ushort)(port == 443 ? 444 : port)));
        }

        Assert.Equal(0, t.A.Transmission.Ingress.Count);
        Assert.Equal(1, t.A.Transmission.Counters.NoticesSent);
        Assert.Null(ForgeFromD(t, sourcePort: 50000, destinationPort: 443)); // the allowed port still passes
    }

    // Issue 14 item 8: a peer spraying new connections fills only its own share, evicting its own oldest entries.
    [Fact]
    public void ConnectionTable_OnePeerSprays_AnotherPeersReplyStateSurvives_AndItCanStillOpenNew()
    {
        var table = new ConnectionTable(capacity: 256, perPeer: 64);
        long now = Environment.TickCount64;
        var victim = new ConnectionKey(0x0A020002, 40000, 0x0A030004, 443, 6);
        table.Note(victim, peer: 2, now);

        for (int port = 1; port <= 10_000; port++)
        {
            table.Note(new ConnectionKey(0x0A030009, (ushort)port, 0x0A020002, 22, 6), peer: 3, now + port);
        }

        Assert.True(table.IsOpen(victim, now + 10_000, idleMs: 60_000));
        Assert.True(table.CountOf(3) <= 64, $"the sprayer holds {table.CountOf(3)} entries, its share is 64");
        var later = new ConnectionKey(0x0A020002, 40001, 0x0A030004, 443, 6);
        table.Note(later, peer: 2, now + 10_001);
        Assert.True(table.IsOpen(later, now + 10_001, idleMs: 60_000));
        // The sprayer's newest connection is kept: eviction takes its least recently used ones.
        Assert.True(table.IsOpen(new ConnectionKey(0x0A030009, 10_000, 0x0A020002, 22, 6), now + 10_001, idleMs: 60_000));
    }

    [Fact]
    public void RuleTable_OnePeerFillsItsShare_AnotherPeersRuleStaysAndNewOnesRecord()
    {
        var table = new RuleTable(capacity: 128, perPeer: 32);
        var victim = new FlowKey(1, 2, 6, 443);
        Assert.True(table.TrySet(victim, Rule(peer: 2)));
        for (int port = 1; port <= 1000; port++)
        {
            Assert.True(table.TrySet(new FlowKey(9, 2, 6, (ushort)port), Rule(peer: 3)));
        }

        Assert.True(table.TryGetLive(victim, Environment.TickCount64, out _));
        Assert.True(table.CountOf(3) <= 32);
        Assert.True(table.TrySet(new FlowKey(1, 2, 6, 444), Rule(peer: 2)));
        Assert.Equal(2, table.CountOf(2));
    }

    private static FlowRule Rule(uint peer) => new()
    {
        Verdict = OverlayKvm.Core.Policy.PolicyVerdict.Allow,
        Origin = RuleOrigin.Granted,
        ExpiresAtMs = long.MaxValue,
        Reason = "test",
        PeerIndex = peer,
    };

    /// <summary>vmB seals D:sourcePort -> B:destinationPort with its real key for G2 and hands it to vmA's receive path.</summary>
    private static DropReason? ForgeFromD(TwoGroups t, ushort sourcePort, ushort destinationPort)
    {
        AgentSnapshot snapshot = t.Bv.State.Current!;
        GroupRuntime g2 = snapshot.Neighbors[OverlayIds.GroupId("G2")];
        int length = TwoGroups.WriteTcp(t.Bv.Buffer, TwoGroups.D, TwoGroups.B, sourcePort, destinationPort);
        var header = new SealedFrameHeader(FrameType.Data, g2.Id, g2.SendKey!.Epoch, snapshot.SenderIndex, g2.SendKey.Salt, g2.SendKey.Counter.Next());
        int frame = g2.SendKey.Cipher.Seal(header, t.Bv.Buffer, length);
        return t.A.Receive.Process(t.Bv.Buffer.AsSpan(0, frame), VmBUnderlay);
    }
}
