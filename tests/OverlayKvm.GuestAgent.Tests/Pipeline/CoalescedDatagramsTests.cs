using OverlayKvm.Core.Wire;
using OverlayKvm.GuestAgent.Pipeline;
using OverlayKvm.GuestAgent.Tests.Doubles;
using OverlayKvm.GuestAgent.Transport;

namespace OverlayKvm.GuestAgent.Tests.Pipeline;

/// <summary>
/// Issue 16, UDP GRO: a receive buffer the kernel joined from several frames is split by its segment size; a size
/// that cannot be a frame drops the buffer (counted), a short tail or a wrong size never delivers a wrong packet.
/// </summary>
public class CoalescedDatagramsTests
{
    /// <summary>Sealed frames of <paramref name="count"/> 1200-byte packets A → B, joined as UDP_GRO hands them over.</summary>
    private static (byte[] Joined, int FrameSize) SealedRun(TwoAgents t, int count, int lastPayload = 1200)
    {
        var joined = new List<byte>();
        int frameSize = 0;
        for (int i = 0; i < count; i++)
        {
            byte[] buffer = TwoAgents.NewBuffer();
            int n = TwoAgents.WritePacket(buffer, "10.1.0.1", "10.1.0.2", i == count - 1 ? lastPayload : 1200);
            buffer[SealedFrameHeader.Size + 28] = (byte)i; // tells the packets apart
            Assert.Null(t.SendA.Process(t.GroupId, buffer, n));
            byte[] frame = t.SenderA.LastFrame();
            frameSize = i == 0 ? frame.Length : frameSize;
            joined.AddRange(frame);
        }

        return (joined.ToArray(), frameSize);
    }

    [Fact]
    public void JoinedFrames_AreEachOpenedAndDelivered_InOrder()
    {
        var t = new TwoAgents();
        (byte[] joined, int size) = SealedRun(t, 5, lastPayload: 300);

        CoalescedDatagrams.Process(t.ReceiveB, t.CountersB, joined, size, TwoAgents.VmAUnderlay);

        Assert.Equal(5, t.SinkB.Count);
        Assert.Equal(5, t.CountersB.ForGroup("web").Sealed.PacketsIn);
        Assert.Equal(28 + 300, t.SinkB.LastLength);
        Assert.Equal(4, t.SinkB.Last[28]);
    }

    [Fact]
    public void NoSegmentSize_IsOneFrame()
    {
        var t = new TwoAgents();
        (byte[] joined, _) = SealedRun(t, 1);

        CoalescedDatagrams.Process(t.ReceiveB, t.CountersB, joined, 0, TwoAgents.VmAUnderlay);

        Assert.Equal(1, t.SinkB.Count);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(1)]
    [InlineData(CoalescedDatagrams.MinFrame - 1)]
    public void ASegmentSizeThatCannotHoldAFrame_DropsTheBufferAsMalformed(int segmentSize)
    {
        var t = new TwoAgents();
        (byte[] joined, _) = SealedRun(t, 3);

        CoalescedDatagrams.Process(t.ReceiveB, t.CountersB, joined, segmentSize, TwoAgents.VmAUnderlay);

        Assert.Equal(0, t.SinkB.Count);
        Assert.Equal(1, t.CountersB.Drops(DropReason.Malformed));
    }

    [Theory]
    [InlineData(-7)]
    [InlineData(+7)]
    public void AWrongSegmentSize_NeverDeliversAPacket(int skew)
    {
        var t = new TwoAgents();
        (byte[] joined, int size) = SealedRun(t, 4);

        CoalescedDatagrams.Process(t.ReceiveB, t.CountersB, joined, size + skew, TwoAgents.VmAUnderlay);

        Assert.Equal(0, t.SinkB.Count);
        Assert.True(t.CountersB.Drops(DropReason.Auth) + t.CountersB.Drops(DropReason.Malformed) >= 4);
    }

    [Fact]
    public void ATruncatedTail_IsDropped_TheWholeFramesBeforeItDelivered()
    {
        var t = new TwoAgents();
        (byte[] joined, int size) = SealedRun(t, 3);
        byte[] cut = joined.AsSpan(0, joined.Length - 100).ToArray();

        CoalescedDatagrams.Process(t.ReceiveB, t.CountersB, cut, size, TwoAgents.VmAUnderlay);

        Assert.Equal(2, t.SinkB.Count);
        Assert.Equal(1, t.CountersB.Drops(DropReason.Auth) + t.CountersB.Drops(DropReason.Malformed));
    }
}
