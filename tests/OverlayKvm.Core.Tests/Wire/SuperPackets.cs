using System.Buffers.Binary;
using OverlayKvm.Core.Wire;

namespace OverlayKvm.Core.Tests.Wire;

/// <summary>
/// Builds TCP/UDP super-packets as a TUN with offloads hands them over (partial checksum: the pseudo-header sum
/// in the field), and checks checksums the textbook way (RFC 1071, big-endian 16-bit words), independently of
/// <see cref="InternetChecksum"/>.
/// </summary>
internal static class SuperPackets
{
    public const int TcpHeader = 32; // 20 + 12 bytes of options (timestamps), as Linux sends them

    public static byte[] Tcp(int payload, byte flags, uint seq = 1000, ushort id = 0x1234, int seed = 1)
    {
        int total = 20 + TcpHeader + payload;
        var p = new byte[total];
        WriteIp(p, total, Ipv4Packet.Tcp, id);
        Span<byte> t = p.AsSpan(20);
        BinaryPrimitives.WriteUInt16BigEndian(t, 40000);
        BinaryPrimitives.WriteUInt16BigEndian(t.Slice(2), 5001);
        BinaryPrimitives.WriteUInt32BigEndian(t.Slice(4), seq);
        BinaryPrimitives.WriteUInt32BigEndian(t.Slice(8), 77);
        t[12] = TcpHeader / 4 << 4;
        t[13] = flags;
        BinaryPrimitives.WriteUInt16BigEndian(t.Slice(14), 502);
        new Random(seed).NextBytes(p.AsSpan(20 + TcpHeader));
        BinaryPrimitives.WriteUInt16BigEndian(t.Slice(16), PartialPseudo(p, Ipv4Packet.Tcp, total - 20));
        return p;
    }

    public static byte[] Udp(int payload, ushort id = 0x4321, int seed = 2)
    {
        int total = 20 + 8 + payload;
        var p = new byte[total];
        WriteIp(p, total, Ipv4Packet.Udp, id);
        Span<byte> u = p.AsSpan(20);
        BinaryPrimitives.WriteUInt16BigEndian(u, 40001);
        BinaryPrimitives.WriteUInt16BigEndian(u.Slice(2), 5002);
        BinaryPrimitives.WriteUInt16BigEndian(u.Slice(4), (ushort)(total - 20));
        new Random(seed).NextBytes(p.AsSpan(28));
        BinaryPrimitives.WriteUInt16BigEndian(u.Slice(6), PartialPseudo(p, Ipv4Packet.Udp, total - 20));
        return p;
    }

    public static VirtioNetHeader TcpHeaderFor(ushort mss) =>
        new(VirtioNetHeader.NeedsChecksum, VirtioNetHeader.GsoTcpV4, 20 + TcpHeader, mss, 20, 16);

    public static VirtioNetHeader UdpHeaderFor(ushort size) =>
        new(VirtioNetHeader.NeedsChecksum, VirtioNetHeader.GsoUdpL4, 28, size, 20, 6);

    /// <summary>True when the IPv4 header checksum verifies.</summary>
    public static bool IpChecksumValid(ReadOnlySpan<byte> packet) => Fold(SumBigEndian(packet.Slice(0, (packet[0] & 0xF) * 4), 0)) == 0xFFFF;

    /// <summary>True when the TCP/UDP checksum over pseudo-header + transport verifies.</summary>
    public static bool TransportChecksumValid(ReadOnlySpan<byte> packet)
    {
        int ihl = (packet[0] & 0xF) * 4;
        int total = BinaryPrimitives.ReadUInt16BigEndian(packet.Slice(2));
        uint sum = Pseudo(packet, packet[9], total - ihl);
        return Fold(SumBigEndian(packet.Slice(ihl, total - ihl), sum)) == 0xFFFF;
    }

    /// <summary>
    /// Finishes a NEEDS_CSUM packet as a kernel would (sum from csum_start over the field, which holds the
    /// pseudo-header sum, complemented into the field), textbook arithmetic; then <see cref="TransportChecksumValid"/>
    /// tells whether the partial sum was right.
    /// </summary>
    public static byte[] CompletePartial(ReadOnlySpan<byte> packet, int checksumStart, int checksumOffset)
    {
        byte[] p = packet.ToArray();
        int total = BinaryPrimitives.ReadUInt16BigEndian(p.AsSpan(2));
        ushort c = (ushort)~Fold(SumBigEndian(p.AsSpan(checksumStart, total - checksumStart), 0));
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(checksumStart + checksumOffset), c);
        return p;
    }

    private static void WriteIp(byte[] p, int total, byte protocol, ushort id)
    {
        p[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)total);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(4), id);
        p[6] = 0x40; // DF
        p[8] = 64;
        p[9] = protocol;
        p[12] = 10; p[13] = 1; p[14] = 0; p[15] = 1;
        p[16] = 10; p[17] = 1; p[18] = 0; p[19] = 2;
        ushort c = (ushort)~Fold(SumBigEndian(p.AsSpan(0, 20), 0));
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(10), c);
    }

    /// <summary>What the kernel leaves in the field with CHECKSUM_PARTIAL: the folded pseudo-header sum, not complemented.</summary>
    private static ushort PartialPseudo(byte[] p, byte protocol, int length) => Fold(Pseudo(p, protocol, length));

    private static uint Pseudo(ReadOnlySpan<byte> p, byte protocol, int length) =>
        SumBigEndian(p.Slice(12, 8), 0) + protocol + (uint)length;

    private static uint SumBigEndian(ReadOnlySpan<byte> data, uint sum)
    {
        for (int i = 0; i < data.Length; i += 2)
        {
            sum += (uint)(data[i] << 8) | (i + 1 < data.Length ? data[i + 1] : 0u);
        }

        return sum;
    }

    private static ushort Fold(uint sum)
    {
        while ((sum >> 16) != 0)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }

        return (ushort)sum;
    }
}
