using System.Net;
using OverlayKvm.Core.DirectoryService;
using OverlayKvm.Core.Wire;
using OverlayKvm.GuestAgent.Config;
using OverlayKvm.GuestAgent.Pipeline;
using OverlayKvm.GuestAgent.Tests.Doubles;

namespace OverlayKvm.GuestAgent.Tests.Pipeline;

/// <summary>
/// Seed 002 R12–R14 in the datapath: the route the directory's classifier put in the document decides the frame; on a
/// trusted segment the inner packet travels in clear (group id and sender in the header, no key), and a receiver
/// accepts clear frames only from VMs its own document routes to in clear.
/// </summary>
public sealed class TrustedSegmentDatapathTests
{
    private static readonly PathClassifier BothTrusted = new([IPNetwork.Parse("192.0.2.0/24")], TransformationTable.Standard);

    private static (byte[] Frame, byte[] Inner) Send(TwoAgents t)
    {
        byte[] buffer = TwoAgents.NewBuffer();
        int n = TwoAgents.WritePacket(buffer, "10.1.0.1", "10.1.0.2");
        byte[] inner = buffer.AsSpan(SealedFrameHeader.Size, n).ToArray();
        Assert.Null(t.SendA.Process(t.GroupId, buffer, n));
        return (t.SenderA.LastFrame(), inner);
    }

    [Fact]
    public void TrustedSegment_ClearFrame_InnerPacketReadable_DeliveredAndCountedAsClear()
    {
        var t = new TwoAgents { Paths = BothTrusted };
        t.Publish(2);
        Assert.Equal(RoutePlan.Clear, t.StateA.Current!.Directory[0x0A010002].Member.CrossGroupPlan);

        var (frame, inner) = Send(t);

        Assert.True(SealedFrameHeader.TryRead(frame, out var header));
        Assert.Equal(FrameType.ClearData, header.Type);
        Assert.Equal(t.GroupId, header.GroupId);
        Assert.Equal(SealedFrameHeader.Size + inner.Length, frame.Length);
        Assert.Equal(inner, frame.AsSpan(SealedFrameHeader.Size).ToArray());
        Assert.Null(t.ReceiveB.Process(frame, TwoAgents.VmAUnderlay));
        Assert.Equal(inner, t.SinkB.Last.ToArray());
        Assert.Equal(1, t.CountersA.ForGroup("web").Clear.PacketsOut);
        Assert.Equal(0, t.CountersA.ForGroup("web").Sealed.PacketsOut);
        Assert.Equal(1, t.CountersB.ForGroup("web").Clear.PacketsIn);
        Assert.Equal(0, t.CountersB.ForGroup("web").Sealed.PacketsIn);
    }

    [Fact]
    public void ClearSendAndReceive_AllocateNothingPerPacket()
    {
        var t = new TwoAgents { Paths = BothTrusted };
        t.Publish(2);
        Assert.Equal(0, t.AllocatedByRoundTrips(warmUp: 200, count: 2000));
        Assert.Equal(2200, t.CountersB.ForGroup("web").Clear.PacketsIn);
    }

    [Fact]
    public void ClearFrame_FromVmNotOnATrustedSegment_DroppedAsClearUntrusted()
    {
        var trusted = new TwoAgents { Paths = BothTrusted };
        trusted.Publish(2);
        var (forged, _) = Send(trusted);

        // The receiver's document has no trusted segment: the same clear frame, from the right address, is refused.
        var sealedOnly = new TwoAgents();
        Assert.Equal(DropReason.ClearUntrusted, sealedOnly.ReceiveB.Process(forged, TwoAgents.VmAUnderlay));
        Assert.Equal(1, sealedOnly.CountersB.Drops(DropReason.ClearUntrusted));
        Assert.Equal(0, sealedOnly.SinkB.Count);

        // On a trusted segment the outer address still has to be the sender's own.
        Assert.Equal(DropReason.Spoof, trusted.ReceiveB.Process(forged, 0xC0000263));
    }

    [Fact]
    public void TrustedSegmentWithIntegrity_AuthenticatedFrame_TamperCaught()
    {
        var t = new TwoAgents { Paths = new PathClassifier([IPNetwork.Parse("192.0.2.0/24")], TransformationTable.StandardWithTrustedIntegrity) };
        t.Publish(2);

        var (frame, inner) = Send(t);

        Assert.True(SealedFrameHeader.TryRead(frame, out var header));
        Assert.Equal(FrameType.AuthenticatedData, header.Type);
        Assert.Equal(inner, frame.AsSpan(SealedFrameHeader.Size, inner.Length).ToArray());
        frame[SealedFrameHeader.Size + 25] ^= 0x01;
        Assert.Equal(DropReason.Auth, t.ReceiveB.Process(frame, TwoAgents.VmAUnderlay));
    }

    [Fact]
    public void Untrusted_SealedFrame_InnerPacketNotReadable()
    {
        var t = new TwoAgents();

        var (frame, inner) = Send(t);

        Assert.True(SealedFrameHeader.TryRead(frame, out var header));
        Assert.Equal(FrameType.Data, header.Type);
        Assert.NotEqual(inner, frame.AsSpan(SealedFrameHeader.Size, inner.Length).ToArray());
        Assert.Null(t.ReceiveB.Process(frame, TwoAgents.VmAUnderlay));
        Assert.Equal(1, t.CountersB.ForGroup("web").Sealed.PacketsIn);
    }

    [Fact]
    public void RouteDrop_NothingSent_CountedAsNoRoute()
    {
        var t = new TwoAgents();
        var doc = t.Doc("vmA", 5);
        var group = doc.Groups[0];
        var members = group.Members.Select(m => m.Domain == "vmB" ? m with { Path = "untrusted", Actions = ["drop"], Fallback = [] } : m).ToList();
        t.A.Publish(doc with { Groups = [group with { Members = members }] });
        byte[] buffer = TwoAgents.NewBuffer();
        int n = TwoAgents.WritePacket(buffer, "10.1.0.1", "10.1.0.2");

        Assert.Equal(DropReason.NoRoute, t.SendA.Process(t.GroupId, buffer, n));
        Assert.Equal(0, t.SenderA.Count);
    }
}
