using System.Buffers.Binary;

namespace OverlayKvm.Core.Wire;

/// <summary>What <see cref="GsoPacket.Check"/> found wrong with a header/packet pair (all are counted drops).</summary>
internal enum GsoCheck
{
    Valid = 0,
    /// <summary>Unknown flag bits or GSO type (only none, TCPv4 and UDP_L4 over IPv4 are carried).</summary>
    UnsupportedType,
    /// <summary>The IPv4 or transport header is cut short, the packet is a fragment, or the protocol does not match the type.</summary>
    BadPacket,
    /// <summary>checksum start/offset do not point at the transport header's checksum field.</summary>
    BadChecksumFields,
    /// <summary>gso_size is below <see cref="GsoPacket.MinSegmentPayload"/> or there is no payload to segment.</summary>
    BadSegmentSize,
}

/// <summary>
/// A packet read from (or to be written to) a TUN device with its <see cref="VirtioNetHeader"/>: validation of
/// hostile headers, checksum completion and user-space segmentation of TCPv4 (TSO) and UDPv4 (USO) super-packets
/// into wire-sized packets, as the kernel would (seq and IP id advance per segment, FIN/PSH only on the last
/// segment, CWR only on the first, every checksum computed). The header's own hdr_len is never trusted: the
/// kernel sets it to its linear length, a peer to anything; header sizes are taken from the packet. Segments are
/// produced one at a time by index into the caller's buffer, so nothing allocates.
/// </summary>
internal static class GsoPacket
{
    /// <summary>Smallest gso_size accepted: Linux's minimum TCP MSS (net.ipv4.tcp_min_snd_mss). A smaller one would
    /// make one record cost up to 64 Ki writes (an amplification a hostile peer could use).</summary>
    public const int MinSegmentPayload = 48;

    private const int TcpChecksumOffset = 16;
    private const int UdpChecksumOffset = 6;
    private const int UdpHeaderSize = 8;
    private const byte TcpFin = 0x01;
    private const byte TcpPsh = 0x08;
    private const byte TcpCwr = 0x80;

    /// <summary>
    /// Validates <paramref name="header"/> against the IPv4 <paramref name="packet"/> (trimmed to its total length by
    /// the caller or not: the total length field is used) and returns the header this side would have built
    /// (<paramref name="normalized"/>: hdr_len = the real header sizes), the one to hand to a kernel.
    /// GSO_NONE is valid with no flags, or with NEEDS_CSUM pointing at a TCP/UDP checksum field.
    /// </summary>
    public static GsoCheck Check(in VirtioNetHeader header, ReadOnlySpan<byte> packet, out VirtioNetHeader normalized)
    {
        normalized = default;
        if ((header.Flags & ~(VirtioNetHeader.NeedsChecksum | VirtioNetHeader.DataValid)) != 0
            || header.GsoType is not (VirtioNetHeader.GsoNone or VirtioNetHeader.GsoTcpV4 or VirtioNetHeader.GsoUdpL4))
        {
            return GsoCheck.UnsupportedType;
        }

        if (header.GsoType == VirtioNetHeader.GsoNone && (header.Flags & VirtioNetHeader.NeedsChecksum) == 0)
        {
            normalized = header with { HeaderLength = 0, GsoSize = 0, ChecksumStart = 0, ChecksumOffset = 0 };
            return GsoCheck.Valid;
        }

        if (!TryReadHeaders(packet, out byte protocol, out int ipHeader, out int headers, out int total))
        {
            return GsoCheck.BadPacket;
        }

        int checksumOffset = protocol == Ipv4Packet.Tcp ? TcpChecksumOffset : UdpChecksumOffset;
        if ((header.Flags & VirtioNetHeader.NeedsChecksum) == 0 || header.ChecksumStart != ipHeader || header.ChecksumOffset != checksumOffset)
        {
            return GsoCheck.BadChecksumFields;
        }

        if (header.GsoType == VirtioNetHeader.GsoNone)
        {
            normalized = new VirtioNetHeader(VirtioNetHeader.NeedsChecksum, VirtioNetHeader.GsoNone, 0, 0, (ushort)ipHeader, (ushort)checksumOffset);
            return GsoCheck.Valid;
        }

        byte wanted = header.GsoType == VirtioNetHeader.GsoTcpV4 ? Ipv4Packet.Tcp : Ipv4Packet.Udp;
        if (protocol != wanted)
        {
            return GsoCheck.BadPacket;
        }

        if (header.GsoSize < MinSegmentPayload || total <= headers)
        {
            return GsoCheck.BadSegmentSize;
        }

        normalized = new VirtioNetHeader(VirtioNetHeader.NeedsChecksum, header.GsoType, (ushort)headers, header.GsoSize, (ushort)ipHeader, (ushort)checksumOffset);
        return GsoCheck.Valid;
    }

    /// <summary>How many packets <see cref="WriteSegment"/> produces (1 for GSO_NONE). The header was <see cref="Check"/>ed.</summary>
    public static int SegmentCount(in VirtioNetHeader header, ReadOnlySpan<byte> packet)
    {
        if (!header.IsGso)
        {
            return 1;
        }

        int payload = Ipv4Packet.TotalLength(packet) - header.HeaderLength;
        return (payload + header.GsoSize - 1) / header.GsoSize;
    }

    /// <summary>
    /// Writes segment <paramref name="index"/> of a <see cref="Check"/>ed (normalized) super-packet into
    /// <paramref name="destination"/>, checksums complete; returns its length, or -1 when it does not fit.
    /// For GSO_NONE it copies the packet and completes a NEEDS_CSUM checksum.
    /// </summary>
    public static int WriteSegment(in VirtioNetHeader header, ReadOnlySpan<byte> packet, int index, Span<byte> destination)
    {
        int total = Ipv4Packet.TotalLength(packet);
        if (!header.IsGso)
        {
            if (total > destination.Length)
            {
                return -1;
            }

            packet.Slice(0, total).CopyTo(destination);
            if ((header.Flags & VirtioNetHeader.NeedsChecksum) != 0)
            {
                CompleteChecksum(header, destination.Slice(0, total));
            }

            return total;
        }

        int headers = header.HeaderLength;
        int ipHeader = header.ChecksumStart;
        int mss = header.GsoSize;
        int offset = index * mss;
        int length = Math.Min(mss, total - headers - offset);
        int segment = headers + length;
        if (length <= 0 || segment > destination.Length)
        {
            return -1;
        }

        packet.Slice(0, headers).CopyTo(destination);
        packet.Slice(headers + offset, length).CopyTo(destination.Slice(headers));
        Span<byte> ip = destination.Slice(0, ipHeader);
        BinaryPrimitives.WriteUInt16BigEndian(ip.Slice(2), (ushort)segment);
        BinaryPrimitives.WriteUInt16BigEndian(ip.Slice(4), (ushort)(BinaryPrimitives.ReadUInt16BigEndian(packet.Slice(4)) + index));
        ip[10] = 0;
        ip[11] = 0;
        InternetChecksum.Store(ip.Slice(10), InternetChecksum.Finish(InternetChecksum.Add(0, ip)));

        Span<byte> transport = destination.Slice(ipHeader, segment - ipHeader);
        bool last = offset + length == total - headers;
        byte protocol;
        if (header.GsoType == VirtioNetHeader.GsoTcpV4)
        {
            protocol = Ipv4Packet.Tcp;
            uint seq = BinaryPrimitives.ReadUInt32BigEndian(packet.Slice(ipHeader + 4));
            BinaryPrimitives.WriteUInt32BigEndian(transport.Slice(4), unchecked(seq + (uint)offset));
            byte flags = transport[13];
            if (!last)
            {
                flags &= unchecked((byte)~(TcpFin | TcpPsh));
            }

            if (index != 0)
            {
                flags &= unchecked((byte)~TcpCwr);
            }

            transport[13] = flags;
        }
        else
        {
            protocol = Ipv4Packet.Udp;
            BinaryPrimitives.WriteUInt16BigEndian(transport.Slice(4), (ushort)transport.Length);
        }

        int field = header.ChecksumOffset;
        transport[field] = 0;
        transport[field + 1] = 0;
        ushort checksum = InternetChecksum.Finish(InternetChecksum.Add(InternetChecksum.PseudoHeader(ip, protocol, transport.Length), transport));
        InternetChecksum.Store(transport.Slice(field), protocol == Ipv4Packet.Udp && checksum == 0 ? (ushort)0xFFFF : checksum);
        return segment;
    }

    /// <summary>
    /// Finishes a CHECKSUM_PARTIAL packet in place: the field already holds the pseudo-header sum (that is what
    /// NEEDS_CSUM means), so the sum from checksum start to the end, complemented, is the checksum.
    /// </summary>
    public static void CompleteChecksum(in VirtioNetHeader header, Span<byte> packet)
    {
        Span<byte> covered = packet.Slice(header.ChecksumStart);
        ushort checksum = InternetChecksum.Finish(InternetChecksum.Add(0, covered));
        bool udp = header.ChecksumOffset == UdpChecksumOffset;
        InternetChecksum.Store(covered.Slice(header.ChecksumOffset), udp && checksum == 0 ? (ushort)0xFFFF : checksum);
    }

    /// <summary>
    /// Makes a <see cref="Check"/>ed super-packet carry a complete checksum over all of it (as if it were one huge
    /// packet) before it crosses a ring. A ring has no checksum of its own, and a kernel handed a NEEDS_CSUM packet
    /// trusts its payload: without this, bytes changed in the ring (a scribbling VM, a fault) would reach the app
    /// unnoticed, where a plain packet's TCP/UDP checksum catches them. The receiver checks it with
    /// <see cref="TryVerifyWhole"/>.
    /// </summary>
    public static void ChecksumWhole(in VirtioNetHeader header, Span<byte> packet)
    {
        int total = Ipv4Packet.TotalLength(packet);
        ReadOnlySpan<byte> ip = packet.Slice(0, header.ChecksumStart);
        Span<byte> transport = packet.Slice(header.ChecksumStart, total - header.ChecksumStart);
        Span<byte> field = transport.Slice(header.ChecksumOffset, 2);
        field.Clear();
        ushort checksum = InternetChecksum.Finish(InternetChecksum.Add(InternetChecksum.PseudoHeader(ip, packet[9], transport.Length), transport));
        InternetChecksum.Store(field, checksum == 0 && header.ChecksumOffset == UdpChecksumOffset ? (ushort)0xFFFF : checksum);
    }

    /// <summary>
    /// Receiver side of <see cref="ChecksumWhole"/>: false when the super-packet's checksum does not verify (changed
    /// on the way). When it does, the field is set back to the partial pseudo-header sum that NEEDS_CSUM means, so a
    /// kernel (or <see cref="WriteSegment"/>) can finish it per segment.
    /// </summary>
    public static bool TryVerifyWhole(in VirtioNetHeader header, Span<byte> packet)
    {
        int total = Ipv4Packet.TotalLength(packet);
        ReadOnlySpan<byte> ip = packet.Slice(0, header.ChecksumStart);
        Span<byte> transport = packet.Slice(header.ChecksumStart, total - header.ChecksumStart);
        ulong pseudo = InternetChecksum.PseudoHeader(ip, packet[9], transport.Length);
        if (InternetChecksum.Finish(InternetChecksum.Add(pseudo, transport)) != 0)
        {
            return false;
        }

        InternetChecksum.Store(transport.Slice(header.ChecksumOffset), (ushort)~InternetChecksum.Finish(pseudo));
        return true;
    }

    /// <summary>IPv4 + TCP/UDP headers present within the total length, not a fragment.</summary>
    private static bool TryReadHeaders(ReadOnlySpan<byte> packet, out byte protocol, out int ipHeader, out int headers, out int total)
    {
        protocol = 0;
        ipHeader = 0;
        headers = 0;
        total = 0;
        if (!Ipv4Packet.TryReadAddresses(packet, out _, out _))
        {
            return false;
        }

        ipHeader = (packet[0] & 0x0F) * 4;
        total = Ipv4Packet.TotalLength(packet);
        protocol = packet[9];
        // More-fragments flag or a fragment offset: a fragment has no transport header to segment or checksum.
        if ((BinaryPrimitives.ReadUInt16BigEndian(packet.Slice(6)) & 0x3FFF) != 0)
        {
            return false;
        }

        if (protocol == Ipv4Packet.Tcp)
        {
            if (total < ipHeader + 20)
            {
                return false;
            }

            int tcpHeader = (packet[ipHeader + 12] >> 4) * 4;
            headers = ipHeader + tcpHeader;
            return tcpHeader >= 20 && headers <= total;
        }

        if (protocol == Ipv4Packet.Udp)
        {
            headers = ipHeader + UdpHeaderSize;
            return headers <= total;
        }

        return false;
    }
}
