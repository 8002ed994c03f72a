using Microsoft.Extensions.DependencyInjection;
using OverlayKvm.Core.Crypto;
using OverlayKvm.Core.SharedMemory;
using OverlayKvm.Core.Tests.Wire;
using OverlayKvm.Core.Wire;
using OverlayKvm.GuestAgent.Engine;
using OverlayKvm.GuestAgent.Pipeline;
using OverlayKvm.GuestAgent.Tests.Doubles;

namespace OverlayKvm.GuestAgent.Tests.Engine;

/// <summary>
/// The engine path of two agents (TwoAgents' vmA → vmB) over a real shared region: FIG. 9 on the sender (ask first,
/// ring when accessible, sealed otherwise) and FIG. 10 on the receiver (no decryption, origin proven by the ring).
/// </summary>
public sealed class EngineDatapathTests : IDisposable
{
    private readonly SharedRegion _region = new();
    private readonly EngineDatapath _engineA = new();
    private readonly TwoAgents _t;
    private readonly EngineDatapath _engineB = new();
    private readonly SendPath _sendA;
    private readonly EngineReceivePath _receiveB;
    private readonly EngineAttachment _attachA;
    private readonly EngineAttachment _attachB;

    public EngineDatapathTests()
    {
        // vmA's send path from AddGuestAgent with this engine in it (the product's registration when the engine is on).
        _t = new TwoAgents(swapA: services => services.AddSingleton(_engineA));
        var opener = new EngineRegionOpener(_region.Directory);
        _attachA = new EngineAttachment("web", _t.GroupId, Open(opener), 0);
        _attachB = new EngineAttachment("web", _t.GroupId, Open(opener), 1);
        _engineA.Attach(_attachA);
        _engineB.Attach(_attachB);
        _sendA = _t.SendA;
        _receiveB = new EngineReceivePath(_t.StateB, _t.CountersB, _t.AdaptersB, _engineB, _t.TransmissionB);
        AnswerForB(version: 1); // what the control service's queries on attach bring: vmA's apps are in slot 0
    }

    public void Dispose()
    {
        _engineA.Dispose();
        _engineB.Dispose();
        _region.Dispose();
    }

    private static EngineRegion Open(EngineRegionOpener opener) =>
        opener.TryOpen("web", SharedRegion.Name, out string? error) ?? throw new InvalidOperationException(error);

    private void AnswerAccessible(ulong version = 1, bool superPackets = true) =>
        _attachA.Routes.Complete(Ip("10.1.0.2"), new EngineRoute(true, 1, 0, SharedRegion.Generation, version, superPackets));

    private void AnswerForB(ulong version)
    {
        _attachB.Routes.Complete(Ip("10.1.0.1"), new EngineRoute(true, 0, 1, SharedRegion.Generation, version));
        _attachB.Routes.Complete(Ip("10.1.0.3"), new EngineRoute(true, 0, 1, SharedRegion.Generation, version));
    }

    private static uint Ip(string s) => System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(System.Net.IPAddress.Parse(s).GetAddressBytes());

    /// <summary>A TCP super-packet from 10.1.0.1 to 10.1.0.2 in a send buffer (after the headroom) and its checked header.</summary>
    private static (byte[] Buffer, byte[] Super, VirtioNetHeader Header) SuperPacketInBuffer(int payload, byte flags)
    {
        byte[] buffer = TwoAgents.NewBuffer();
        byte[] super = SuperPackets.Tcp(payload, flags);
        super.CopyTo(buffer, SealedFrameHeader.Size);
        Assert.Equal(GsoCheck.Valid, GsoPacket.Check(SuperPackets.TcpHeaderFor(1400), super, out VirtioNetHeader header));
        return (buffer, super, header);
    }

    private int Deliver()
    {
        var buffer = new byte[65536];
        int delivered = 0;
        while (_attachB.Endpoint.TryReceive(buffer, out int length, out int from) == RingReadResult.Message)
        {
            Assert.Null(_receiveB.Process(_attachB, from, buffer.AsSpan(0, length)));
            delivered++;
        }
        return delivered;
    }

    [Fact]
    public void TcpSuperPacket_CrossesTheRingAsOneRecord_AReceiverWithoutOffloadsWritesValidSegments()
    {
        AnswerAccessible();
        (byte[] buffer, byte[] super, VirtioNetHeader header) = SuperPacketInBuffer(20_000, 0x18);
        int segments = GsoPacket.SegmentCount(header, super);

        Assert.Null(_sendA.Process(_t.GroupId, buffer, super.Length, _t.SenderA, header, new byte[2 * SendPath.SegmentScratchSize]));

        Assert.Equal(0, _t.SenderA.Count);
        Assert.Equal(segments, _t.CountersA.ForGroup("web").Engine.PacketsOut);
        var record = new byte[65536 + VirtioNetHeader.Size];
        Assert.Equal(RingReadResult.Message, _attachB.Endpoint.TryReceive(record, out int length, out int from));
        Assert.Equal(VirtioNetHeader.Size + super.Length, length);
        Assert.Equal(RingReadResult.Empty, _attachB.Endpoint.TryReceive(record, out _, out _));
        Assert.Null(_receiveB.Process(_attachB, from, record.AsSpan(0, length)));
        // The capturing sink takes plain packets only: it got the segments, the last one whole and checksummed.
        Assert.Equal(segments, _t.SinkB.Count);
        Assert.True(SuperPackets.TransportChecksumValid(_t.SinkB.Last) && SuperPackets.IpChecksumValid(_t.SinkB.Last));
        Assert.Equal(segments, _t.CountersB.ForGroup("web").Engine.PacketsIn);
    }

    [Fact]
    public void TcpSuperPacket_ToAnAgentFromBeforeSuperPackets_CrossesTheRingAsPlainSegments()
    {
        // Mixed versions during an upgrade: the peer registered without saying it reads super-packets.
        AnswerAccessible(superPackets: false);
        (byte[] buffer, byte[] super, VirtioNetHeader header) = SuperPacketInBuffer(20_000, 0x18);
        int segments = GsoPacket.SegmentCount(header, super);

        Assert.Null(_sendA.Process(_t.GroupId, buffer, super.Length, _t.SenderA, header, new byte[2 * SendPath.SegmentScratchSize]));

        Assert.Equal(0, _t.SenderA.Count);
        var record = new byte[65536 + VirtioNetHeader.Size];
        for (int i = 0; i < segments; i++)
        {
            Assert.Equal(RingReadResult.Message, _attachB.Endpoint.TryReceive(record, out int length, out _));
            // A bare IPv4 packet, as an old agent reads it: version 4 in the first byte, no virtio-net header.
            Assert.Equal(0x45, record[0]);
            Assert.True(length <= 1500, $"record {i} is {length} bytes: not a plain segment");
        }
        Assert.Equal(RingReadResult.Empty, _attachB.Endpoint.TryReceive(record, out _, out _));
    }

    [Fact]
    public void SuperPacketLargerThanTheRegionsLargestRecord_CrossesTheRingAsSegments_NotTheNetwork()
    {
        AnswerAccessible();
        (byte[] buffer, byte[] super, VirtioNetHeader header) = SuperPacketInBuffer(60_000, 0x18);
        Assert.True(super.Length > _attachA.Endpoint.MaxPacket, "the test region's largest record takes a 60 KB super-packet: the test proves nothing");
        int segments = GsoPacket.SegmentCount(header, super);

        Assert.Null(_sendA.Process(_t.GroupId, buffer, super.Length, _t.SenderA, header, new byte[2 * SendPath.SegmentScratchSize]));

        Assert.Equal(0, _t.SenderA.Count);
        Assert.Equal(segments, Deliver());
        Assert.Equal(segments, _t.SinkB.Count);
        Assert.True(SuperPackets.TransportChecksumValid(_t.SinkB.Last));
    }

    [Fact]
    public void SuperPacketChangedInTheRing_FailsItsWholeChecksum_NothingWritten()
    {
        AnswerAccessible();
        (byte[] buffer, byte[] super, VirtioNetHeader header) = SuperPacketInBuffer(20_000, 0x10);
        Assert.Null(_sendA.Process(_t.GroupId, buffer, super.Length, _t.SenderA, header, new byte[2 * SendPath.SegmentScratchSize]));

        var record = new byte[65536 + VirtioNetHeader.Size];
        Assert.Equal(RingReadResult.Message, _attachB.Endpoint.TryReceive(record, out int length, out int from));
        record[VirtioNetHeader.Size + 10_000] ^= 0x01; // what a scribbling VM (or a fault) does to a payload byte in the ring
        Assert.Equal(DropReason.Malformed, _receiveB.Process(_attachB, from, record.AsSpan(0, length)));
        Assert.Equal(0, _t.SinkB.Count);
    }

    [Theory]
    [InlineData(1)] // gso_size below the minimum: a 20 KB record would become 20,000 writes
    [InlineData(0x44)] // unknown flag bits
    public void HostileHeaderInARecord_IsMalformed_NothingWritten(int variant)
    {
        byte[] super = SuperPackets.Tcp(20_000, 0x10);
        VirtioNetHeader header = SuperPackets.TcpHeaderFor(1400);
        header = variant == 1 ? header with { GsoSize = 1 } : header with { Flags = (byte)variant };
        var record = new byte[VirtioNetHeader.Size + super.Length];
        header.Write(record);
        super.CopyTo(record, VirtioNetHeader.Size);
        Assert.Equal(EngineSendResult.Sent, _attachA.Endpoint.TrySend(1, record));

        var buffer = new byte[65536 + VirtioNetHeader.Size];
        Assert.Equal(RingReadResult.Message, _attachB.Endpoint.TryReceive(buffer, out int length, out int from));
        Assert.Equal(DropReason.Malformed, _receiveB.Process(_attachB, from, buffer.AsSpan(0, length)));
        Assert.Equal(0, _t.SinkB.Count);
    }

    [Fact]
    public void FirstPacket_Unresolved_GoesSealedAndQueuesOneQuery()
    {
        byte[] buffer = TwoAgents.NewBuffer();
        int n = TwoAgents.WritePacket(buffer, "10.1.0.1", "10.1.0.2");
        Assert.Null(_sendA.Process(_t.GroupId, buffer, n));
        Assert.Null(_sendA.Process(_t.GroupId, buffer, TwoAgents.WritePacket(buffer, "10.1.0.1", "10.1.0.2")));

        Assert.Equal(2, _t.SenderA.Count);
        Assert.Equal(2, _engineA.Fallbacks(EngineFallback.Unresolved));
        Assert.True(_engineA.PendingQueries.TryRead(out var query));
        Assert.Equal((_t.GroupId, Ip("10.1.0.2")), query);
        Assert.False(_engineA.PendingQueries.TryRead(out _)); // deduplicated while outstanding
    }

    [Fact]
    public void Accessible_PacketGoesThroughTheRingInClear_DeliveredUnchangedAndCounted()
    {
        AnswerAccessible();
        byte[] buffer = TwoAgents.NewBuffer();
        int n = TwoAgents.WritePacket(buffer, "10.1.0.1", "10.1.0.2", payload: 1000);
        byte[] original = buffer.AsSpan(SealedFrameHeader.Size, n).ToArray();

        Assert.Null(_sendA.Process(_t.GroupId, buffer, n));

        Assert.Equal(0, _t.SenderA.Count);
        Assert.Equal(1, _t.CountersA.ForGroup("web").Engine.PacketsOut);
        Assert.Equal(n, _t.CountersA.ForGroup("web").Engine.BytesOut);
        Assert.Equal(1, Deliver());
        Assert.Equal(original, _t.SinkB.Last.ToArray());
        Assert.Equal(n, _t.CountersB.ForGroup("web").Engine.BytesIn);
        Assert.Equal(0, _t.CountersB.ForGroup("web").Sealed.PacketsIn);
        // Issue 15: the same bytes per peer VM, on the engine side only.
        Assert.Equal((n, 0L), (_t.CountersA.ForPeer("vmB").Engine.BytesOut, _t.CountersA.ForPeer("vmB").Sealed.BytesOut));
        Assert.Equal((n, 0L), (_t.CountersB.ForPeer("vmA").Engine.BytesIn, _t.CountersB.ForPeer("vmA").Sealed.BytesIn));
    }

    [Fact]
    public void PolicyDeniesTcp22WithinTheGroup_EnginePathObeysIt_AtTheSenderAndAtTheReceiver()
    {
        _t.Policies.Add(new OverlayKvm.Core.Policy.PolicyConfig(1, "web", ["group:web"], "tcp", "22", "deny", 3));
        _t.Publish(2);
        AnswerAccessible();
        byte[] buffer = TwoAgents.NewBuffer();

        // Sender: refused before the ring.
        Assert.Equal(DropReason.DeniedEgress, _sendA.Process(_t.GroupId, buffer, TwoGroups.WriteTcp(buffer, "10.1.0.1", "10.1.0.2", 40000, 22)));
        Assert.Equal(0, _t.CountersA.ForGroup("web").Engine.PacketsOut);
        Assert.Equal(0, _t.SenderA.Count);
        // tcp/80 takes the ring.
        Assert.Null(_sendA.Process(_t.GroupId, buffer, TwoGroups.WriteTcp(buffer, "10.1.0.1", "10.1.0.2", 40000, 80)));
        Assert.Equal(1, Deliver());

        // Receiver: a VM that skips its own check and writes tcp/22 into the ring is refused all the same.
        int n = TwoGroups.WriteTcp(buffer, "10.1.0.1", "10.1.0.2", 40001, 22);
        Assert.True(_engineA.TrySend(_t.StateA.Current!.GroupsById[_t.GroupId], Ip("10.1.0.2"), buffer.AsSpan(SealedFrameHeader.Size, n)));
        var ring = new byte[65536];
        Assert.Equal(RingReadResult.Message, _attachB.Endpoint.TryReceive(ring, out int length, out int from));
        Assert.Equal(DropReason.DeniedIngress, _receiveB.Process(_attachB, from, ring.AsSpan(0, length)));
        Assert.Equal(1, _t.SinkB.Count); // only tcp/80
    }

    [Fact]
    public void EngineSwitchedOff_FallsBackToSealed_AndReturnsWhenOnAgain()
    {
        AnswerAccessible();
        byte[] buffer = TwoAgents.NewBuffer();
        _region.Daemon.Control.SetEngineEnabled(false);
        Assert.Null(_sendA.Process(_t.GroupId, buffer, TwoAgents.WritePacket(buffer, "10.1.0.1", "10.1.0.2")));
        Assert.Equal(1, _t.SenderA.Count);
        Assert.Equal(1, _engineA.Fallbacks(EngineFallback.Disabled));

        _region.Daemon.Control.SetEngineEnabled(true);
        Assert.Null(_sendA.Process(_t.GroupId, buffer, TwoAgents.WritePacket(buffer, "10.1.0.1", "10.1.0.2")));
        Assert.Equal(1, _t.SenderA.Count);
        Assert.Equal(1, _t.CountersA.ForGroup("web").Engine.PacketsOut);
    }

    [Fact]
    public void DirectoryVersionMoves_CachedAnswerIsStale_AskedAgain()
    {
        AnswerAccessible(version: 1);
        _region.Daemon.Control.SetDirectoryVersion(2);
        byte[] buffer = TwoAgents.NewBuffer();
        Assert.Null(_sendA.Process(_t.GroupId, buffer, TwoAgents.WritePacket(buffer, "10.1.0.1", "10.1.0.2")));
        Assert.Equal(1, _t.SenderA.Count);
        Assert.Equal(1, _engineA.Fallbacks(EngineFallback.Unresolved));
        Assert.True(_engineA.PendingQueries.TryRead(out _));
    }

    [Fact]
    public void NotAccessibleAnswer_SealedPath()
    {
        _attachA.Routes.Complete(Ip("10.1.0.2"), new EngineRoute(false, -1, -1, SharedRegion.Generation, 1));
        byte[] buffer = TwoAgents.NewBuffer();
        Assert.Null(_sendA.Process(_t.GroupId, buffer, TwoAgents.WritePacket(buffer, "10.1.0.1", "10.1.0.2")));
        Assert.Equal(1, _t.SenderA.Count);
        Assert.Equal(1, _engineA.Fallbacks(EngineFallback.NotAccessible));
    }

    [Fact]
    public void RingPacket_SourceNotOfTheSendingSlot_DroppedAsSpoof()
    {
        // vmA's slot writes a packet claiming vmB's own address as source, then an unknown member address.
        using RingProducer producer = _region.Daemon.OpenProducer(0, 1);
        byte[] buffer = TwoAgents.NewBuffer();
        int n = TwoAgents.WritePacket(buffer, "10.1.0.2", "10.1.0.2");
        Assert.Equal(RingWriteResult.Written, producer.TryWrite(buffer.AsSpan(SealedFrameHeader.Size, n)));
        n = TwoAgents.WritePacket(buffer, "10.1.9.9", "10.1.0.2");
        Assert.Equal(RingWriteResult.Written, producer.TryWrite(buffer.AsSpan(SealedFrameHeader.Size, n)));
        // Slot 2 is not vmA's: a packet with vmA's address on ring 2 → 1 is a spoof too.
        using RingProducer other = _region.Daemon.OpenProducer(2, 1);
        n = TwoAgents.WritePacket(buffer, "10.1.0.1", "10.1.0.2");
        Assert.Equal(RingWriteResult.Written, other.TryWrite(buffer.AsSpan(SealedFrameHeader.Size, n)));

        var rx = new byte[65536];
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(RingReadResult.Message, _attachB.Endpoint.TryReceive(rx, out int length, out int from));
            Assert.Equal(DropReason.Spoof, _receiveB.Process(_attachB, from, rx.AsSpan(0, length)));
        }
        Assert.Equal(0, _t.SinkB.Count);
        Assert.Equal(3, _t.CountersB.Drops(DropReason.Spoof));
        Assert.Equal(3, _engineB.RingPacketsDropped);
    }

    // Issue 14 item 6: slot ownership was reloaded from the region's slot table, which every member can write.
    [Fact]
    public void MemberRewritesItsSlotToAVictimsAddress_ItsRingPacketsClaimingTheVictimAreDropped()
    {
        // The VM in slot 2 rewrites its own slot entry to claim vmA's app 10.1.0.1 and bumps the version word.
        _region.Daemon.Slots.Write(2, new SlotEntry("vmC", [System.Net.IPAddress.Parse("10.1.0.1")], 0));
        _region.Daemon.Control.SetDirectoryVersion(2);
        using RingProducer forger = _region.Daemon.OpenProducer(2, 1);
        byte[] buffer = TwoAgents.NewBuffer();
        int n = TwoAgents.WritePacket(buffer, "10.1.0.1", "10.1.0.2");
        var rx = new byte[65536];

        // No host answer for the new version yet: not trusted, and the host is asked.
        Assert.Equal(RingWriteResult.Written, forger.TryWrite(buffer.AsSpan(SealedFrameHeader.Size, n)));
        Assert.Equal(RingReadResult.Message, _attachB.Endpoint.TryReceive(rx, out int length, out int from));
        Assert.Equal(DropReason.Unverified, _receiveB.Process(_attachB, from, rx.AsSpan(0, length)));
        Assert.True(_engineB.PendingQueries.TryRead(out var query));
        Assert.Equal((_t.GroupId, Ip("10.1.0.1")), query);

        // The host answers: 10.1.0.1 is in slot 0. Slot 2's claim is a spoof, whatever its slot entry says.
        AnswerForB(version: 2);
        Assert.Equal(RingWriteResult.Written, forger.TryWrite(buffer.AsSpan(SealedFrameHeader.Size, n)));
        Assert.Equal(RingReadResult.Message, _attachB.Endpoint.TryReceive(rx, out length, out from));
        Assert.Equal(2, from);
        Assert.Equal(DropReason.Spoof, _receiveB.Process(_attachB, from, rx.AsSpan(0, length)));

        Assert.Equal(0, _t.SinkB.Count);
        Assert.Equal(1, _t.CountersB.Drops(DropReason.Spoof));
        Assert.Equal(1, _t.CountersB.Drops(DropReason.Unverified));
    }

    [Theory]
    [InlineData(new byte[] { })]
    [InlineData(new byte[] { 0x45, 0, 0 })]
    [InlineData(new byte[] { 0x60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 })]
    public void RingPacket_Malformed_DroppedAndCounted(byte[] packet)
    {
        Assert.Equal(DropReason.Malformed, _receiveB.Process(_attachB, 0, packet));
        Assert.Equal(0, _t.SinkB.Count);
    }

    [Fact]
    public void NetworkFrameClaimingTheEnginePath_DroppedAsEngineClaim()
    {
        byte[] frame = new byte[200];
        frame[0] = SealedFrameHeader.CurrentVersion;
        frame[EngineFrameMarker.TypeOffset] = EngineFrameMarker.EngineType;
        Assert.Equal(DropReason.EngineClaim, _t.ReceiveB.Process(frame, TwoAgents.VmAUnderlay));
        Assert.Equal(1, _t.CountersB.Drops(DropReason.EngineClaim));
        Assert.Equal(0, _t.SinkB.Count);

        // Junk that merely has a 2 at offset 1 is not a claim: it stays malformed.
        byte[] junk = new byte[200];
        junk[0] = 7;
        junk[EngineFrameMarker.TypeOffset] = EngineFrameMarker.EngineType;
        Assert.Equal(DropReason.Malformed, _t.ReceiveB.Process(junk, TwoAgents.VmAUnderlay));
        Assert.Equal(1, _t.CountersB.Drops(DropReason.EngineClaim));
    }

    [Fact]
    public void EngineSendAndReceive_SteadyState_AllocateNothing()
    {
        AnswerAccessible();
        byte[] buffer = TwoAgents.NewBuffer();
        int n = TwoAgents.WritePacket(buffer, "10.1.0.1", "10.1.0.2", payload: 1200);
        var rx = new byte[65536];
        void RoundTrip()
        {
            _sendA.Process(_t.GroupId, buffer, n);
            _attachB.Endpoint.TryReceive(rx, out int length, out int from);
            _receiveB.Process(_attachB, from, rx.AsSpan(0, length));
        }
        for (int i = 0; i < 100; i++)
        {
            RoundTrip();
        }
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10_000; i++)
        {
            RoundTrip();
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
        Assert.Equal(10_100, _t.CountersB.ForGroup("web").Engine.PacketsIn);
        Assert.Equal(0, _t.SenderA.Count);
    }

    [Fact]
    public void Detached_NotAttachedFallback()
    {
        Assert.NotNull(_engineA.Detach(_t.GroupId));
        byte[] buffer = TwoAgents.NewBuffer();
        Assert.Null(_sendA.Process(_t.GroupId, buffer, TwoAgents.WritePacket(buffer, "10.1.0.1", "10.1.0.2")));
        Assert.Equal(1, _t.SenderA.Count);
        Assert.Equal(1, _engineA.Fallbacks(EngineFallback.NotAttached));
    }
}
