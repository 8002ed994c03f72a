using OverlayKvm.Core.Crypto;
using OverlayKvm.Core.Policy;
using OverlayKvm.Core.Wire;
using OverlayKvm.GuestAgent.Config;
using OverlayKvm.GuestAgent.Pipeline;
using OverlayKvm.GuestAgent.Policy;
using OverlayKvm.GuestAgent.Tests.Doubles;

namespace OverlayKvm.GuestAgent.Tests.Policy;

/// <summary>Seed 004's negotiation between two agents (B in G2 on vmA, D in G3 on vmB) with real documents and frames.</summary>
public sealed class TransmissionManagerTests
{
    [Fact]
    public void AllowedPort_OneNegotiation_QueuedFirstPacketDelivered_ThenTenThousandWithoutAnother()
    {
        var t = new TwoGroups(null, TwoGroups.Accept("G3", "G2", 80));

        Assert.Null(t.SendBToD(80));
        Assert.Equal(1, t.A.Frames.Pending); // Is Allowed, the packet is held
        Assert.Equal(0, t.Bv.Sink.Count);
        t.Pump();

        Assert.Equal(1, t.Bv.Sink.Count); // the queued packet, released after Allowed
        for (int i = 0; i < 10_000; i++)
        {
            Assert.Null(t.SendBToD(80));
        }
        t.Pump();

        Assert.Equal(10_001, t.Bv.Sink.Count);
        Assert.Equal(1, t.A.Transmission.Counters.NegotiationsSent);
        Assert.Equal(1, t.A.Transmission.Counters.AllowedReceived);
        Assert.Equal(1, t.Bv.Transmission.Counters.NegotiationsReceived);
        // R4.8: the rule is recorded at both ends.
        Assert.True(t.A.Transmission.Egress.TryGetLive(Flow(80), t.A.Transmission.NowMs, out var sent) && sent.IsAllowed);
        Assert.True(t.Bv.Transmission.Ingress.TryGetLive(Flow(80), t.Bv.Transmission.NowMs, out var granted) && granted.IsAllowed);
        Assert.Equal(1, granted.PolicyId);
    }

    [Theory]
    [InlineData(81)]
    [InlineData(22)]
    public void OtherPort_NotAllowed_HeldPacketDropped_LaterPacketsDeniedAtSenderWithNothingSent(int port)
    {
        var t = new TwoGroups(null, TwoGroups.Accept("G3", "G2", 80));

        t.SendBToD(port);
        t.Pump();
        int framesBefore = t.A.Frames.Sent;
        Assert.Equal(DropReason.DeniedEgress, t.SendBToD(port));

        Assert.Equal(framesBefore, t.A.Frames.Sent);
        Assert.Equal(0, t.Bv.Sink.Count);
        Assert.Equal(1, t.A.Transmission.Counters.NotAllowedReceived);
        Assert.Equal(2, t.A.Counters.Drops(DropReason.DeniedEgress)); // the held packet and the later one
        Assert.True(t.A.Transmission.Egress.TryGetLive(Flow(port), t.A.Transmission.NowMs, out var rule) && !rule.IsAllowed);
    }

    [Fact]
    public void ForgedFrame_ValidKeyButNoAllowRule_DroppedAtReceiver_SenderToldToInvalidate()
    {
        var t = new TwoGroups(null, TwoGroups.Accept("G3", "G2", 80));
        // vmA's agent is compromised: it seals tcp/22 with its real (derived) key, skipping its own check.
        AgentSnapshot snapshot = t.A.State.Current!;
        GroupRuntime g3 = snapshot.Neighbors[OverlayIds.GroupId("G3")];
        int length = TwoGroups.WriteTcp(t.A.Buffer, TwoGroups.B, TwoGroups.D, 40000, 22);
        var header = new SealedFrameHeader(FrameType.Data, g3.Id, g3.SendKey!.Epoch, snapshot.SenderIndex, g3.SendKey.Salt, g3.SendKey.Counter.Next());
        int frame = g3.SendKey.Cipher.Seal(header, t.A.Buffer, length);

        Assert.Equal(DropReason.DeniedIngress, t.Bv.Receive.Process(t.A.Buffer.AsSpan(0, frame), 0xC0000201));
        Assert.Equal(0, t.Bv.Sink.Count);
        Assert.Equal(1, t.Bv.Transmission.Counters.NoticesSent);
        t.Pump();
        Assert.Equal(1, t.A.Transmission.Counters.NoticesReceived);
    }

    [Fact]
    public void PolicyRemoved_ReceiverInvalidates_SenderRenegotiatesAndIsDenied_UntouchedRuleStays()
    {
        var t = new TwoGroups(null, TwoGroups.Accept("G3", "G2", 80), TwoGroups.Accept("G3", "G2", 8080));
        t.SendBToD(80);
        t.SendBToD(8080);
        t.Pump();
        Assert.Equal(2, t.Bv.Sink.Count);
        Assert.Equal(2, t.A.Transmission.Counters.NegotiationsSent);

        t.Policies.RemoveAll(p => p.Definition.Ports!.Value.First == 80);
        t.Publish(); // vmB re-decides its rules, removes b->d tcp/80 and tells vmA
        t.Pump();

        Assert.Equal(1, t.A.Transmission.Counters.NoticesReceived);
        Assert.False(t.A.Transmission.Egress.TryGetLive(Flow(80), t.A.Transmission.NowMs, out _));
        t.SendBToD(80);
        t.Pump();
        Assert.Equal(DropReason.DeniedEgress, t.SendBToD(80));
        Assert.Equal(1, t.A.Transmission.Counters.NotAllowedReceived);
        // tcp/8080 is untouched: still allowed, no new negotiation.
        Assert.Null(t.SendBToD(8080));
        t.Pump();
        Assert.Equal(3, t.Bv.Sink.Count);
        Assert.Equal(3, t.A.Transmission.Counters.NegotiationsSent);
    }

    [Fact]
    public void NoAnswer_CountsAsDenyWithTtl_AfterTtlTheFlowIsNegotiatedAgainAndPasses()
    {
        var options = new TransmissionOptions { NegotiationTimeout = TimeSpan.FromMilliseconds(100), DenyTtl = TimeSpan.FromMilliseconds(400) };
        var t = new TwoGroups(options, TwoGroups.Accept("G3", "G2", 80));

        t.SendBToD(80);
        t.A.Frames.Clear(); // vmB is unreachable: Is Allowed is lost
        t.Time.Advance(TimeSpan.FromMilliseconds(150));
        t.A.Transmission.Tick();
        Assert.Equal(1, t.A.Transmission.Counters.Timeouts);
        Assert.Equal(DropReason.DeniedEgress, t.SendBToD(80));
        Assert.True(t.A.Transmission.Egress.TryGetLive(Flow(80), t.A.Transmission.NowMs, out var rule) && !rule.IsAllowed);
        Assert.Contains("no answer from vmB", rule.Reason);

        t.Time.Advance(TimeSpan.FromMilliseconds(450)); // the deny rule's TTL
        t.A.Transmission.Tick();
        Assert.Equal(1, t.A.Transmission.Counters.RulesExpired);
        t.SendBToD(80);
        t.Pump();
        Assert.Equal(1, t.Bv.Sink.Count);
        Assert.Equal(2, t.A.Transmission.Counters.NegotiationsSent);
    }

    [Fact]
    public void UnansweredNegotiation_IsAskedAgain_AtTheRetryInterval()
    {
        var options = new TransmissionOptions { RetryInterval = TimeSpan.FromMilliseconds(20), NegotiationTimeout = TimeSpan.FromSeconds(5) };
        var t = new TwoGroups(options, TwoGroups.Accept("G3", "G2", 80));
        t.SendBToD(80);
        t.A.Frames.Clear();
        t.Time.Advance(TimeSpan.FromMilliseconds(40));
        t.A.Transmission.Tick();
        Assert.Equal(1, t.A.Frames.Pending); // the retry
        t.Pump();
        Assert.Equal(1, t.Bv.Sink.Count);
    }

    [Theory]
    [InlineData(true, 0)]
    [InlineData(false, 1)]
    public void ReplyFromD_StatefulPassesWithoutNegotiation_StatelessNegotiatesItsOwnDirection(bool stateful, int expectedNegotiations)
    {
        var t = new TwoGroups(new TransmissionOptions { StatefulReplies = stateful }, TwoGroups.Accept("G3", "G2", 80), TwoGroups.Accept("G2", "G3", 40000));
        t.SendBToD(80, sourcePort: 40000);
        t.Pump();

        int length = TwoGroups.WriteTcp(t.Bv.Buffer, TwoGroups.D, TwoGroups.B, 80, 40000);
        t.Bv.Send.Process(OverlayIds.GroupId("G3"), t.Bv.Buffer, length);
        t.Pump();

        Assert.Equal(1, t.A.Sink.Count);
        Assert.Equal(expectedNegotiations, t.Bv.Transmission.Counters.NegotiationsSent);
    }

    [Fact]
    public void DiscardMode_FirstPacketDroppedAsPending_NothingHeld()
    {
        var t = new TwoGroups(new TransmissionOptions { PendingMode = PendingMode.Discard }, TwoGroups.Accept("G3", "G2", 80));
        Assert.Equal(DropReason.Pending, t.SendBToD(80));
        t.Pump();
        Assert.Equal(0, t.Bv.Sink.Count);
        Assert.Null(t.SendBToD(80));
        t.Pump();
        Assert.Equal(1, t.Bv.Sink.Count);
    }

    [Fact]
    public void NoPolicyBetweenTheGroups_DestinationUnknownToTheSender_NoRoute()
    {
        var t = new TwoGroups(null);
        Assert.Equal(DropReason.NoRoute, t.SendBToD(80));
        Assert.Equal(0, t.A.Frames.Sent);
    }

    [Fact]
    public void MemberLeaves_ItsRulesAreFlushedAtBothEnds()
    {
        var t = new TwoGroups(null, TwoGroups.Accept("G3", "G2", 80), TwoGroups.Accept("G3", "G2", 8080));
        t.SendBToD(80);
        t.Pump();
        Assert.Equal(1, t.A.Transmission.Egress.Count);
        Assert.Equal(1, t.Bv.Transmission.Ingress.Count);

        t.Policies.Clear(); // no relation left: D disappears from vmA's directory, B from vmB's
        t.Publish();

        Assert.Equal(0, t.A.Transmission.Egress.Count);
        Assert.Equal(0, t.Bv.Transmission.Ingress.Count);
    }

    [Fact]
    public void HostileControlPayloads_AreCountedAndIgnored()
    {
        var t = new TwoGroups(null, TwoGroups.Accept("G3", "G2", 80));
        AgentSnapshot b = t.Bv.State.Current!;
        GroupRuntime g3 = b.GroupsById[OverlayIds.GroupId("G3")];
        PeerVm vmA = g3.Peers.Values.Single();
        Span<byte> message = stackalloc byte[NegotiationMessage.Size];
        // Wrong length, unknown kind, an answer nobody asked for, a flow whose source is not vmA's.
        t.Bv.Transmission.OnControl(b, g3, vmA, new byte[3]);
        message.Clear();
        message[0] = 9;
        t.Bv.Transmission.OnControl(b, g3, vmA, message);
        new NegotiationMessage(NegotiationKind.Allowed, Flow(80), 7).Write(message);
        t.Bv.Transmission.OnControl(b, g3, vmA, message);
        new NegotiationMessage(NegotiationKind.IsAllowed, new FlowKey(0x0A030004, 0x0A030004, 6, 80), 7).Write(message);
        t.Bv.Transmission.OnControl(b, g3, vmA, message);

        Assert.Equal(4, t.Bv.Transmission.Counters.BadControl);
        Assert.Equal(0, t.Bv.Transmission.Ingress.Count);
        Assert.Equal(0, t.Bv.Frames.Sent);
    }

    private static FlowKey Flow(int port) => new(0x0A020002, 0x0A030004, 6, (ushort)port);
}
