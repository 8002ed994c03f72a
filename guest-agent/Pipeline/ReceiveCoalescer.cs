using System.Buffers.Binary;
using OverlayKvm.Core.Wire;

namespace OverlayKvm.GuestAgent.Pipeline;

/// <summary>
/// Receive-side coalescing (GRO in user space, issue 16). The receive workers deliver wire-sized packets, and the
/// cost of the receiving path is then the TUN write per 1.4 KB packet, not our code. Consecutive segments of one
/// TCP flow (and datagrams of one UDP flow, where the adapter has USO) delivered to the same adapter within one
/// receive burst are joined into one super-packet with a virtio-net header (GSO_TCPV4 / GSO_UDP_L4, NEEDS_CSUM with
/// the pseudo-header sum in the field) and written once; the kernel hands the stack one large packet, as its own
/// GRO would for a NIC.
/// <para>
/// What merges (see <see cref="SegmentShape"/>): packets whose checksums verify, of one flow, in sequence, with
/// identical headers but for length, ids and checksums, each payload as large as the first but the last. A packet
/// that cannot join is written alone; if it belongs to the pending flow the pending super-packet goes first, so a
/// flow's order is kept. Another flow's packet does not end the pending one (its order against other flows is free).
/// </para>
/// Owned by one receive worker, which calls <see cref="Flush"/> at the end of each burst: nothing waits for a later
/// burst. One 64 KiB buffer, allocated once; nothing per packet.
/// </summary>
internal sealed class ReceiveCoalescer
{
    /// <summary>Segments per super-packet at most (the kernel accepts more; a burst is 32–64 packets anyway).</summary>
    public const int MaxSegments = 64;

    private const int MaxPacket = 65535;
    private readonly byte[] _buffer = GC.AllocateUninitializedArray<byte>(VirtioNetHeader.Size + MaxPacket, pinned: true);
    private readonly DatapathCounters _counters;
    private IPacketSink? _sink;
    private SegmentShape _first;
    private int _length;
    private int _segments;
    private uint _nextSequence;
    private bool _closed;

    public ReceiveCoalescer(DatapathCounters counters) => _counters = counters;

    /// <summary>Super-packets written (for tests and the bench's view of how much merged).</summary>
    public long SuperPackets { get; private set; }

    private Span<byte> Pending => _buffer.AsSpan(VirtioNetHeader.Size, _length);

    /// <summary>
    /// Delivers <paramref name="packet"/> (a whole IPv4 packet, trimmed to its total length) to
    /// <paramref name="sink"/>, now or with the pending super-packet. False when it was written now and refused;
    /// a later refusal of a super-packet is counted as `io-error` drops, one per segment.
    /// </summary>
    public bool Deliver(IPacketSink sink, ReadOnlySpan<byte> packet)
    {
        bool takes = sink.AcceptsTcpSuperPackets || sink.AcceptsUdpSuperPackets;
        if (!takes || !SegmentShape.TryRead(packet, out SegmentShape shape)
            || !(shape.IsTcp ? sink.AcceptsTcpSuperPackets : sink.AcceptsUdpSuperPackets))
        {
            if (takes && IsPendingFlow(sink, packet))
            {
                Flush();
            }

            return sink.TryWrite(packet);
        }

        if (_segments > 0 && ReferenceEquals(sink, _sink) && !_closed && _segments < MaxSegments && _length + shape.Payload <= MaxPacket
            && SegmentShape.Continues(Pending, _first, _nextSequence, packet, shape))
        {
            packet.Slice(shape.Headers, shape.Payload).CopyTo(_buffer.AsSpan(VirtioNetHeader.Size + _length));
            _length += shape.Payload;
            _segments++;
            _nextSequence = unchecked(_nextSequence + (uint)shape.Payload);
            // A shorter segment can only be the last (gso_size is the first's); PSH marks the end of a write.
            _closed = shape.Payload < _first.Payload || (shape.TcpFlags & SegmentShape.TcpPsh) != 0;
            if (_closed && shape.IsTcp)
            {
                Pending[SegmentShape.IpHeaderSize + 13] |= (byte)(shape.TcpFlags & SegmentShape.TcpPsh);
            }

            return true;
        }

        if (_segments > 0 && (!ReferenceEquals(sink, _sink) || !SameFlow(Pending, packet, shape.Protocol)))
        {
            // Another flow (or adapter) while one is pending: write this one alone, keep collecting the pending one
            // only if it is still open — a new flow takes the buffer when the pending one is done.
            if (!_closed)
            {
                return sink.TryWrite(packet);
            }
        }

        Flush();
        packet.Slice(0, shape.Total).CopyTo(_buffer.AsSpan(VirtioNetHeader.Size));
        _sink = sink;
        _first = shape;
        _length = shape.Total;
        _segments = 1;
        _nextSequence = unchecked(shape.Sequence + (uint)shape.Payload);
        _closed = (shape.TcpFlags & SegmentShape.TcpPsh) != 0;
        return true;
    }

    /// <summary>Writes the pending packet: alone as it came, or as a super-packet with its virtio-net header.</summary>
    public void Flush()
    {
        if (_segments == 0)
        {
            return;
        }

        int segments = _segments;
        _segments = 0;
        IPacketSink sink = _sink!;
        _sink = null;
        bool written = segments == 1 ? sink.TryWrite(Pending) : WriteSuper(sink, segments);
        if (!written)
        {
            _counters.Drop(DropReason.IoError, segments);
        }
    }

    private bool WriteSuper(IPacketSink sink, int segments)
    {
        Span<byte> packet = Pending;
        BinaryPrimitives.WriteUInt16BigEndian(packet.Slice(2), (ushort)_length);
        packet[10] = 0;
        packet[11] = 0;
        InternetChecksum.Store(packet.Slice(10), InternetChecksum.Finish(InternetChecksum.Add(0, packet.Slice(0, SegmentShape.IpHeaderSize))));
        Span<byte> transport = packet.Slice(SegmentShape.IpHeaderSize);
        int field = _first.IsTcp ? SegmentShape.TcpChecksumOffset : SegmentShape.UdpChecksumOffset;
        if (!_first.IsTcp)
        {
            BinaryPrimitives.WriteUInt16BigEndian(transport.Slice(4), (ushort)transport.Length);
        }

        // NEEDS_CSUM: the field holds the pseudo-header sum (not complemented); the kernel finishes each segment's.
        ulong pseudo = InternetChecksum.PseudoHeader(packet, _first.Protocol, transport.Length);
        InternetChecksum.Store(transport.Slice(field), (ushort)~InternetChecksum.Finish(pseudo));
        var header = new VirtioNetHeader(VirtioNetHeader.NeedsChecksum, _first.IsTcp ? VirtioNetHeader.GsoTcpV4 : VirtioNetHeader.GsoUdpL4,
            (ushort)_first.Headers, (ushort)_first.Payload, SegmentShape.IpHeaderSize, (ushort)field);
        SuperPackets++;
        return sink.TryWriteOffloaded(_buffer.AsSpan(0, VirtioNetHeader.Size + _length), header);
    }

    private bool IsPendingFlow(IPacketSink sink, ReadOnlySpan<byte> packet) =>
        _segments > 0 && ReferenceEquals(sink, _sink) && packet.Length >= SegmentShape.IpHeaderSize && SameFlow(Pending, packet, packet[9]);

    /// <summary>
    /// Same protocol, addresses and ports. A packet with IP options (ports elsewhere) or too short to have ports is
    /// taken as the same flow when protocol and addresses match: flushing too often costs a write, never order.
    /// </summary>
    private static bool SameFlow(ReadOnlySpan<byte> pending, ReadOnlySpan<byte> packet, byte protocol) =>
        pending[9] == protocol && pending.Slice(12, 8).SequenceEqual(packet.Slice(12, 8))
        && ((packet[0] & 0x0F) != 5 || packet.Length < SegmentShape.IpHeaderSize + 4
            || pending.Slice(SegmentShape.IpHeaderSize, 4).SequenceEqual(packet.Slice(SegmentShape.IpHeaderSize, 4)));
}
