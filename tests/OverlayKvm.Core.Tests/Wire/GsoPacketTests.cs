using System.Buffers.Binary;
using OverlayKvm.Core.Wire;

namespace OverlayKvm.Core.Tests.Wire;

public class GsoPacketTests
{
    private const byte Fin = 0x01, Psh = 0x08, Ack = 0x10, Cwr = 0x80;

    [Fact]
    public void TcpSuperPacket_Segments_HaveKernelSemantics_AndValidChecksums()
    {
        const int payload = 10_000;
        const ushort mss = 1448;
        byte[] super = SuperPackets.Tcp(payload, Fin | Psh | Ack | Cwr, seq: 0xFFFF_F000, id: 0xFFFE);
        Assert.Equal(GsoCheck.Valid, GsoPacket.Check(SuperPackets.TcpHeaderFor(mss), super, out VirtioNetHeader h));

        int count = GsoPacket.SegmentCount(h, super);
        Assert.Equal((payload + mss - 1) / mss, count);
        var joined = new List<byte>();
        var segment = new byte[2048];
        for (int i = 0; i < count; i++)
        {
            int n = GsoPacket.WriteSegment(h, super, i, segment);
            ReadOnlySpan<byte> s = segment.AsSpan(0, n);
            int expected = i < count - 1 ? mss : payload - (count - 1) * mss;
            Assert.Equal(20 + SuperPackets.TcpHeader + expected, n);
            Assert.Equal(n, BinaryPrimitives.ReadUInt16BigEndian(s.Slice(2)));
            Assert.Equal((ushort)(0xFFFE + i), BinaryPrimitives.ReadUInt16BigEndian(s.Slice(4)));
            Assert.Equal(unchecked(0xFFFF_F000u + (uint)(i * mss)), BinaryPrimitives.ReadUInt32BigEndian(s.Slice(24)));
            byte flags = s[33];
            Assert.Equal(i == count - 1, (flags & Fin) != 0);
            Assert.Equal(i == count - 1, (flags & Psh) != 0);
            Assert.Equal(i == 0, (flags & Cwr) != 0);
            Assert.True((flags & Ack) != 0);
            Assert.True(SuperPackets.IpChecksumValid(s), $"segment {i}: IPv4 header checksum");
            Assert.True(SuperPackets.TransportChecksumValid(s), $"segment {i}: TCP checksum");
            joined.AddRange(s.Slice(20 + SuperPackets.TcpHeader).ToArray());
        }

        Assert.Equal(super.AsSpan(20 + SuperPackets.TcpHeader).ToArray(), joined.ToArray());
    }

    [Fact]
    public void UdpSuperPacket_Segments_CarryTheirLengthAndValidChecksums()
    {
        const int payload = 5000;
        const ushort size = 1200;
        byte[] super = SuperPackets.Udp(payload);
        Assert.Equal(GsoCheck.Valid, GsoPacket.Check(SuperPackets.UdpHeaderFor(size), super, out VirtioNetHeader h));
        int count = GsoPacket.SegmentCount(h, super);
        Assert.Equal(5, count);
        var segment = new byte[2048];
        var joined = new List<byte>();
        for (int i = 0; i < count; i++)
        {
            int n = GsoPacket.WriteSegment(h, super, i, segment);
            ReadOnlySpan<byte> s = segment.AsSpan(0, n);
            Assert.Equal(n - 20, BinaryPrimitives.ReadUInt16BigEndian(s.Slice(24)));
            Assert.True(SuperPackets.IpChecksumValid(s), $"segment {i}: IPv4 header checksum");
            Assert.True(SuperPackets.TransportChecksumValid(s), $"segment {i}: UDP checksum");
            joined.AddRange(s.Slice(28).ToArray());
        }

        Assert.Equal(super.AsSpan(28).ToArray(), joined.ToArray());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(777)]
    public void PartialChecksum_WithoutGso_IsCompleted(int payload)
    {
        byte[] packet = SuperPackets.Tcp(payload, Ack | Psh);
        var header = new VirtioNetHeader(VirtioNetHeader.NeedsChecksum, VirtioNetHeader.GsoNone, 0, 0, 20, 16);
        Assert.False(SuperPackets.TransportChecksumValid(packet), "the partial checksum already verifies: the test proves nothing");
        Assert.Equal(GsoCheck.Valid, GsoPacket.Check(header, packet, out VirtioNetHeader h));
        GsoPacket.CompleteChecksum(h, packet);
        Assert.True(SuperPackets.TransportChecksumValid(packet));
    }

    [Theory]
    [InlineData("tcp")]
    [InlineData("udp")]
    public void WholeChecksum_VerifiesUnchanged_CatchesAFlippedByte_AndRestoresThePartialSum(string protocol)
    {
        byte[] super = protocol == "tcp" ? SuperPackets.Tcp(30_000, Ack) : SuperPackets.Udp(30_000);
        VirtioNetHeader claimed = protocol == "tcp" ? SuperPackets.TcpHeaderFor(1400) : SuperPackets.UdpHeaderFor(1400);
        Assert.Equal(GsoCheck.Valid, GsoPacket.Check(claimed, super, out VirtioNetHeader h));
        byte[] partial = super.AsSpan(20 + h.ChecksumOffset, 2).ToArray();

        GsoPacket.ChecksumWhole(h, super);
        Assert.True(SuperPackets.TransportChecksumValid(super), "the whole-packet checksum does not verify independently");
        byte[] flipped = (byte[])super.Clone();
        flipped[20_000] ^= 0x40;
        Assert.False(GsoPacket.TryVerifyWhole(h, flipped));
        Assert.True(GsoPacket.TryVerifyWhole(h, super));
        Assert.Equal(partial, super.AsSpan(20 + h.ChecksumOffset, 2).ToArray());
    }

    [Fact]
    public void Check_RebuildsHeaderLength_FromThePacket_NotFromTheHeader()
    {
        byte[] super = SuperPackets.Tcp(4000, Ack);
        // The kernel puts its linear length in hdr_len, a peer anything: neither is used.
        VirtioNetHeader claimed = SuperPackets.TcpHeaderFor(1000) with { HeaderLength = 3000 };
        Assert.Equal(GsoCheck.Valid, GsoPacket.Check(claimed, super, out VirtioNetHeader h));
        Assert.Equal(20 + SuperPackets.TcpHeader, h.HeaderLength);
    }

    public static TheoryData<string, string> Hostile => new()
    {
        { "unknown flag bit", nameof(GsoCheck.UnsupportedType) },
        { "gso TCPv6", nameof(GsoCheck.UnsupportedType) },
        { "gso UDP (UFO)", nameof(GsoCheck.UnsupportedType) },
        { "gso ECN bit", nameof(GsoCheck.UnsupportedType) },
        { "gso without NEEDS_CSUM", nameof(GsoCheck.BadChecksumFields) },
        { "checksum start inside the IP header", nameof(GsoCheck.BadChecksumFields) },
        { "checksum offset past the field", nameof(GsoCheck.BadChecksumFields) },
        { "gso_size 1", nameof(GsoCheck.BadSegmentSize) },
        { "gso_size 0", nameof(GsoCheck.BadSegmentSize) },
        { "no payload", nameof(GsoCheck.BadSegmentSize) },
        { "UDP_L4 on a TCP packet", nameof(GsoCheck.BadPacket) },
        { "fragment", nameof(GsoCheck.BadPacket) },
        { "TCP data offset past the end", nameof(GsoCheck.BadPacket) },
        { "TCP data offset below 20", nameof(GsoCheck.BadPacket) },
        { "IPv4 total length beyond the buffer", nameof(GsoCheck.BadPacket) },
        { "not IPv4", nameof(GsoCheck.BadPacket) },
    };

    [Theory]
    [MemberData(nameof(Hostile))]
    public void Check_RefusesHostileHeaders(string what, string expected)
    {
        byte[] p = SuperPackets.Tcp(4000, Ack);
        VirtioNetHeader h = SuperPackets.TcpHeaderFor(1400);
        switch (what)
        {
            case "unknown flag bit": h = h with { Flags = 0x05 }; break;
            case "gso TCPv6": h = h with { GsoType = VirtioNetHeader.GsoTcpV6 }; break;
            case "gso UDP (UFO)": h = h with { GsoType = VirtioNetHeader.GsoUdp }; break;
            case "gso ECN bit": h = h with { GsoType = VirtioNetHeader.GsoTcpV4 | VirtioNetHeader.GsoEcn }; break;
            case "gso without NEEDS_CSUM": h = h with { Flags = 0 }; break;
            case "checksum start inside the IP header": h = h with { ChecksumStart = 10 }; break;
            case "checksum offset past the field": h = h with { ChecksumOffset = 60000 }; break;
            case "gso_size 1": h = h with { GsoSize = 1 }; break;
            case "gso_size 0": h = h with { GsoSize = 0 }; break;
            case "no payload": p = SuperPackets.Tcp(0, Ack); break;
            case "UDP_L4 on a TCP packet": h = h with { GsoType = VirtioNetHeader.GsoUdpL4 }; break;
            case "fragment": p[6] = 0x20; break;
            case "TCP data offset past the end": p = SuperPackets.Tcp(8, Ack); p[32] = 0xF0; break;
            case "TCP data offset below 20": p[32] = 0x40; break;
            case "IPv4 total length beyond the buffer": BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), 65000); break;
            case "not IPv4": p[0] = 0x60; break;
        }

        Assert.Equal(expected, GsoPacket.Check(h, p, out _).ToString());
    }

    /// <summary>Random headers on random packets: Check never throws, and whatever it accepts segments within bounds.</summary>
    [Fact]
    public void RandomHeaders_NeverCrash_AndAcceptedOnesSegmentWithinBounds()
    {
        var random = new Random(16);
        var raw = new byte[VirtioNetHeader.Size];
        var segment = new byte[65535];
        int accepted = 0;
        for (int round = 0; round < 20_000; round++)
        {
            byte[] p = random.Next(3) switch
            {
                0 => SuperPackets.Tcp(random.Next(0, 9000), (byte)random.Next(256)),
                1 => SuperPackets.Udp(random.Next(0, 9000)),
                _ => RandomBytes(random, random.Next(0, 200)),
            };
            random.NextBytes(raw);
            raw[0] &= 3;
            raw[1] = (byte)(random.Next(2) == 0 ? raw[1] & 0x85 : random.Next(6));
            if (random.Next(2) == 0)
            {
                BinaryPrimitives.WriteUInt16LittleEndian(raw.AsSpan(6), 20);
                BinaryPrimitives.WriteUInt16LittleEndian(raw.AsSpan(8), (ushort)(p.Length > 9 && p[9] == Ipv4Packet.Udp ? 6 : 16));
            }

            VirtioNetHeader.TryRead(raw, out VirtioNetHeader h);
            if (GsoPacket.Check(h, p, out VirtioNetHeader n) != GsoCheck.Valid || !n.IsGso)
            {
                continue;
            }

            accepted++;
            int count = GsoPacket.SegmentCount(n, p);
            Assert.InRange(count, 1, 65535 / GsoPacket.MinSegmentPayload + 1);
            for (int i = 0; i < count; i++)
            {
                int length = GsoPacket.WriteSegment(n, p, i, segment);
                Assert.True(length > 0 && SuperPackets.TransportChecksumValid(segment.AsSpan(0, length)), $"round {round} segment {i}");
            }
        }

        Assert.True(accepted > 100, $"only {accepted} random headers were accepted: the loop hardly exercised segmentation");
    }

    private static byte[] RandomBytes(Random random, int n)
    {
        var b = new byte[n];
        random.NextBytes(b);
        return b;
    }
}
