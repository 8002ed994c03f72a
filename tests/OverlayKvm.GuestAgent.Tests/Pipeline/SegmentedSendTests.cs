using OverlayKvm.Core.Tests.Wire;
using OverlayKvm.Core.Wire;
using OverlayKvm.GuestAgent.Pipeline;
using OverlayKvm.GuestAgent.Tests.Doubles;

namespace OverlayKvm.GuestAgent.Tests.Pipeline;

/// <summary>
/// Issue 16, sealed path: a super-packet read from an adapter with offloads leaves as one sealed frame per segment,
/// each opened by the peer and delivered as a wire-sized packet with valid checksums, the payload in order.
/// </summary>
public class SegmentedSendTests
{
    [Theory]
    [InlineData("tcp")]
    [InlineData("udp")]
    public void SuperPacket_LeavesAsOneSealedFramePerSegment_EachDeliveredWhole(string protocol)
    {
        var t = new TwoAgents();
        var frames = new FrameQueue();
        byte[] super = protocol == "tcp" ? SuperPackets.Tcp(30_000, 0x18) : SuperPackets.Udp(30_000);
        VirtioNetHeader claimed = protocol == "tcp" ? SuperPackets.TcpHeaderFor(1400) : SuperPackets.UdpHeaderFor(1400);
        Assert.Equal(GsoCheck.Valid, GsoPacket.Check(claimed, super, out VirtioNetHeader header));
        int segments = GsoPacket.SegmentCount(header, super);
        byte[] buffer = TwoAgents.NewBuffer();
        super.CopyTo(buffer, SealedFrameHeader.Size);

        Assert.Null(t.SendA.Process(t.GroupId, buffer, super.Length, frames, header, new byte[2 * SendPath.SegmentScratchSize]));

        Assert.Equal(segments, frames.Sent);
        Assert.Equal(segments, t.CountersA.ForGroup("web").Sealed.PacketsOut);
        int headers = header.HeaderLength;
        var payload = new List<byte>();
        while (frames.TryTake(out byte[] frame))
        {
            Assert.Null(t.ReceiveB.Process(frame, TwoAgents.VmAUnderlay));
            ReadOnlySpan<byte> delivered = t.SinkB.Last;
            Assert.True(delivered.Length <= headers + 1400, $"a {delivered.Length}-byte packet is larger than a segment");
            Assert.True(SuperPackets.IpChecksumValid(delivered) && SuperPackets.TransportChecksumValid(delivered), "segment checksums");
            payload.AddRange(delivered.Slice(headers).ToArray());
        }

        Assert.Equal(segments, t.SinkB.Count);
        Assert.Equal(super.AsSpan(headers).ToArray(), payload.ToArray());
    }

    [Fact]
    public void SegmentingAndSealing_AllocatesNothingPerSuperPacket()
    {
        var t = new TwoAgents();
        byte[] super = SuperPackets.Tcp(30_000, 0x10);
        Assert.Equal(GsoCheck.Valid, GsoPacket.Check(SuperPackets.TcpHeaderFor(1400), super, out VirtioNetHeader header));
        byte[] buffer = TwoAgents.NewBuffer();
        byte[] scratch = new byte[2 * SendPath.SegmentScratchSize];
        void Send()
        {
            super.CopyTo(buffer, SealedFrameHeader.Size);
            t.SendA.Process(t.GroupId, buffer, super.Length, t.SenderA, header, scratch);
        }

        for (int i = 0; i < 50; i++)
        {
            Send();
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 500; i++)
        {
            Send();
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(550 * GsoPacket.SegmentCount(header, super), t.SenderA.Count);
    }
}
