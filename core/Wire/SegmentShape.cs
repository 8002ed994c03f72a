using System.Buffers.Binary;

namespace OverlayKvm.Core.Wire;

/// <summary>
/// The shape of a plain TCPv4/UDPv4 packet that receive-side coalescing (GRO in user space, issue 16) may merge
/// into a super-packet: header sizes, payload, sequence number and flags, read once from a checked packet.
/// Only the plainest packets qualify, so that merging can never change what the receiving stack sees:
/// IPv4 without options, not a fragment; TCP with only ACK (and PSH) set and payload; UDP with payload and a length
/// field that agrees with the IP one; and a transport checksum that verifies (a damaged packet is written as it
/// came, for the kernel to drop, never laundered into a super-packet whose checksum the kernel would trust).
/// </summary>
internal readonly record struct SegmentShape(byte Protocol, int Headers, int Total, uint Sequence, byte TcpFlags)
{
    public const int IpHeaderSize = 20;
    public const int TcpChecksumOffset = 16;
    public const int UdpChecksumOffset = 6;
    public const byte TcpAck = 0x10;
    public const byte TcpPsh = 0x08;
    private const int UdpHeaderSize = 8;

    public int Payload => Total - Headers;

    public bool IsTcp => Protocol == Ipv4Packet.Tcp;

    /// <summary>False when <paramref name="packet"/> is not one this coalescer merges (it is then written alone).</summary>
    public static bool TryRead(ReadOnlySpan<byte> packet, out SegmentShape shape)
    {
        shape = default;
        // Version 4 and IHL 5 exactly: IP options would have to be compared and carried per segment.
        if (packet.Length < IpHeaderSize || packet[0] != 0x45)
        {
            return false;
        }

        int total = Ipv4Packet.TotalLength(packet);
        // The merged packet gets a new IP checksum, so each segment's is checked here (the kernel checks every packet's).
        if (InternetChecksum.Finish(InternetChecksum.Add(0, packet.Slice(0, IpHeaderSize))) != 0)
        {
            return false;
        }

        // MF or a fragment offset: a fragment has no transport header of its own.
        if (total > packet.Length || (BinaryPrimitives.ReadUInt16BigEndian(packet.Slice(6)) & 0x3FFF) != 0)
        {
            return false;
        }

        byte protocol = packet[9];
        int headers;
        uint sequence = 0;
        byte flags = 0;
        if (protocol == Ipv4Packet.Tcp)
        {
            if (total < IpHeaderSize + 20)
            {
                return false;
            }

            headers = IpHeaderSize + ((packet[IpHeaderSize + 12] >> 4) * 4);
            flags = packet[IpHeaderSize + 13];
            // ACK with or without PSH; anything else (SYN, FIN, RST, URG, ECE, CWR, reserved bits) ends a stream
            // of segments and must reach the stack as it came.
            if (headers < IpHeaderSize + 20 || (packet[IpHeaderSize + 12] & 0x0F) != 0 || (flags & ~TcpPsh) != TcpAck)
            {
                return false;
            }

            sequence = BinaryPrimitives.ReadUInt32BigEndian(packet.Slice(IpHeaderSize + 4));
        }
        else if (protocol == Ipv4Packet.Udp)
        {
            headers = IpHeaderSize + UdpHeaderSize;
            if (total < headers || BinaryPrimitives.ReadUInt16BigEndian(packet.Slice(IpHeaderSize + 4)) != total - IpHeaderSize)
            {
                return false;
            }

            // A zero UDP checksum means "none": the super-packet would get one; keep such datagrams as they are.
            if (BinaryPrimitives.ReadUInt16BigEndian(packet.Slice(IpHeaderSize + UdpChecksumOffset)) == 0)
            {
                return false;
            }
        }
        else
        {
            return false;
        }

        if (headers >= total || !TransportChecksumValid(packet.Slice(0, total), protocol))
        {
            return false;
        }

        shape = new SegmentShape(protocol, headers, total, sequence, flags);
        return true;
    }

    /// <summary>
    /// True when <paramref name="next"/> (shape <paramref name="nextShape"/>) continues the packet whose first
    /// segment is <paramref name="first"/> (shape <paramref name="firstShape"/>) and whose next expected sequence
    /// number is <paramref name="nextSequence"/>: same addresses, TOS, TTL, DF and ports; for TCP the same ACK
    /// number, window and options (timestamps included, as the kernel's GRO requires) and the next sequence number;
    /// a payload no larger than the first's (the gso_size).
    /// </summary>
    public static bool Continues(ReadOnlySpan<byte> first, in SegmentShape firstShape, uint nextSequence, ReadOnlySpan<byte> next, in SegmentShape nextShape)
    {
        if (nextShape.Protocol != firstShape.Protocol || nextShape.Headers != firstShape.Headers || nextShape.Payload > firstShape.Payload
            || first[1] != next[1] || first[8] != next[8] || (first[6] & 0x40) != (next[6] & 0x40)
            || !first.Slice(12, 8).SequenceEqual(next.Slice(12, 8))
            || !first.Slice(IpHeaderSize, 4).SequenceEqual(next.Slice(IpHeaderSize, 4)))
        {
            return false;
        }

        if (!firstShape.IsTcp)
        {
            return true;
        }

        // ack (8..12), data offset (12), window (14..16), then the options; flags (13) were checked by TryRead.
        ReadOnlySpan<byte> a = first.Slice(IpHeaderSize, firstShape.Headers - IpHeaderSize);
        ReadOnlySpan<byte> b = next.Slice(IpHeaderSize, nextShape.Headers - IpHeaderSize);
        return nextShape.Sequence == nextSequence
            && a.Slice(8, 5).SequenceEqual(b.Slice(8, 5))
            && a.Slice(14, 2).SequenceEqual(b.Slice(14, 2))
            && a.Slice(20).SequenceEqual(b.Slice(20));
    }

    private static bool TransportChecksumValid(ReadOnlySpan<byte> packet, byte protocol)
    {
        ReadOnlySpan<byte> transport = packet.Slice(IpHeaderSize);
        ulong sum = InternetChecksum.Add(InternetChecksum.PseudoHeader(packet, protocol, transport.Length), transport);
        return InternetChecksum.Finish(sum) == 0;
    }
}
