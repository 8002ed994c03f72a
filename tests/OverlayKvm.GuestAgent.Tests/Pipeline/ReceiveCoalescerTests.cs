using System.Buffers.Binary;
using OverlayKvm.Core.Tests.Wire;
using OverlayKvm.Core.Wire;
using OverlayKvm.GuestAgent.Pipeline;
using OverlayKvm.GuestAgent.Tests.Doubles;

namespace OverlayKvm.GuestAgent.Tests.Pipeline;

/// <summary>
/// Issue 16, receive-side coalescing: segments of one flow become one super-packet that a kernel would segment back
/// into the very same packets; anything that is not a plain continuation (another flow, a gap, a flag, other options,
/// a bad checksum, a hostile header) is written as it came, in order.
/// </summary>
public class ReceiveCoalescerTests
{
    private const ushort Mss = 1400;
    private const int Headers = 20 + SuperPackets.TcpHeader;

    /// <summary>Plain packets as a sender's kernel (or our segmenter) puts them on the wire, checksums complete.</summary>
    private static List<byte[]> TcpSegments(int payload, uint seq = 1000, ushort sourcePort = 40000, byte flags = 0x18, int seed = 1)
    {
        byte[] super = SuperPackets.Tcp(payload, flags, seq, seed: seed);
        BinaryPrimitives.WriteUInt16BigEndian(super.AsSpan(20), sourcePort);
        // The partial sum covers addresses and length only, so changing a port keeps it valid.
        Assert.Equal(GsoCheck.Valid, GsoPacket.Check(SuperPackets.TcpHeaderFor(Mss), super, out VirtioNetHeader h));
        return Segment(h, super);
    }

    private static List<byte[]> UdpDatagrams(int payload, ushort size)
    {
        byte[] super = SuperPackets.Udp(payload);
        Assert.Equal(GsoCheck.Valid, GsoPacket.Check(SuperPackets.UdpHeaderFor(size), super, out VirtioNetHeader h));
        return Segment(h, super);
    }

    private static List<byte[]> Segment(in VirtioNetHeader h, byte[] super)
    {
        var list = new List<byte[]>();
        var buffer = new byte[65536];
        for (int i = 0; i < GsoPacket.SegmentCount(h, super); i++)
        {
            list.Add(buffer.AsSpan(0, GsoPacket.WriteSegment(h, super, i, buffer)).ToArray());
        }

        return list;
    }

    /// <summary>What the kernel makes of a write: a plain packet as is, a super-packet segmented by its header.</summary>
    private static List<byte[]> AsKernelSees(OffloadingSink sink)
    {
        var packets = new List<byte[]>();
        foreach ((VirtioNetHeader? header, byte[] packet) in sink.Writes)
        {
            if (header is null)
            {
                packets.Add(packet);
                continue;
            }

            Assert.Equal(GsoCheck.Valid, GsoPacket.Check(header.Value, packet, out VirtioNetHeader checkedHeader));
            Assert.Equal(header.Value, checkedHeader);
            packets.AddRange(Segment(header.Value, packet));
        }

        return packets;
    }

    private static void DeliverAll(ReceiveCoalescer coalescer, IPacketSink sink, IEnumerable<byte[]> packets)
    {
        foreach (byte[] p in packets)
        {
            Assert.True(coalescer.Deliver(sink, p));
        }

        coalescer.Flush();
    }

    [Fact]
    public void InOrderSegmentsOfOneFlow_BecomeOneSuperPacket_WithValidChecksums_ThatSegmentsBackIdentically()
    {
        List<byte[]> segments = TcpSegments(30_000);
        var sink = new OffloadingSink();
        var coalescer = new ReceiveCoalescer(new DatapathCounters());

        DeliverAll(coalescer, sink, segments);

        (VirtioNetHeader? header, byte[] super) = Assert.Single(sink.Writes);
        Assert.Equal(new VirtioNetHeader(VirtioNetHeader.NeedsChecksum, VirtioNetHeader.GsoTcpV4, Headers, Mss, 20, 16), header);
        Assert.Equal(Headers + 30_000, super.Length);
        Assert.Equal(super.Length, BinaryPrimitives.ReadUInt16BigEndian(super.AsSpan(2)));
        Assert.True(SuperPackets.IpChecksumValid(super), "IPv4 header checksum of the super-packet");
        Assert.True(SuperPackets.TransportChecksumValid(SuperPackets.CompletePartial(super, 20, 16)), "the field must hold the pseudo-header sum");
        Assert.Equal(0x18, super[33]); // ACK, and PSH from the last segment
        Assert.Equal(segments, AsKernelSees(sink));
    }

    [Fact]
    public void UdpDatagrams_MergeOnlyForAnAdapterWithUso()
    {
        List<byte[]> datagrams = UdpDatagrams(5000, 1200);
        var uso = new OffloadingSink(udp: true);
        var tsoOnly = new OffloadingSink(udp: false);
        var coalescer = new ReceiveCoalescer(new DatapathCounters());

        DeliverAll(coalescer, uso, datagrams);
        DeliverAll(coalescer, tsoOnly, datagrams);

        (VirtioNetHeader? header, byte[] super) = Assert.Single(uso.Writes);
        Assert.Equal(VirtioNetHeader.GsoUdpL4, header!.Value.GsoType);
        Assert.Equal(1200, header.Value.GsoSize);
        Assert.Equal(super.Length - 20, BinaryPrimitives.ReadUInt16BigEndian(super.AsSpan(24)));
        Assert.True(SuperPackets.TransportChecksumValid(SuperPackets.CompletePartial(super, 20, 6)), "UDP pseudo-header sum");
        Assert.Equal(datagrams, AsKernelSees(uso));
        Assert.Equal(datagrams.Count, tsoOnly.Writes.Count);
        Assert.All(tsoOnly.Writes, w => Assert.Null(w.Header));
    }

    [Fact]
    public void AdapterWithoutOffloads_GetsEveryPacketAsItCame_AtOnce()
    {
        List<byte[]> segments = TcpSegments(10_000);
        var sink = new CapturingSink();
        var coalescer = new ReceiveCoalescer(new DatapathCounters());

        for (int i = 0; i < segments.Count; i++)
        {
            Assert.True(coalescer.Deliver(sink, segments[i]));
            Assert.Equal(i + 1, sink.Count);
            Assert.Equal(segments[i], sink.Last.ToArray());
        }
    }

    [Fact]
    public void OutOfOrderSegments_NeverJoin_AndKeepTheirArrivalOrder()
    {
        List<byte[]> s = TcpSegments(8 * Mss);
        byte[][] arrival = [s[0], s[1], s[3], s[2], s[4], s[5], s[7], s[6]];
        var sink = new OffloadingSink();

        DeliverAll(new ReceiveCoalescer(new DatapathCounters()), sink, arrival);

        Assert.Equal(arrival, AsKernelSees(sink));
        Assert.All(sink.Writes, w => AssertContiguous(w.Packet));
    }

    [Fact]
    public void InterleavedFlows_NeverMix_AndEachFlowKeepsItsOrder()
    {
        List<byte[]> a = TcpSegments(6 * Mss, sourcePort: 40000, seed: 3);
        List<byte[]> b = TcpSegments(6 * Mss, sourcePort: 40001, seed: 4);
        var arrival = new List<byte[]>();
        for (int i = 0; i < a.Count; i++)
        {
            arrival.Add(a[i]);
            arrival.Add(b[i]);
        }

        var sink = new OffloadingSink();
        DeliverAll(new ReceiveCoalescer(new DatapathCounters()), sink, arrival);

        List<byte[]> seen = AsKernelSees(sink);
        Assert.Equal(a, seen.Where(p => BinaryPrimitives.ReadUInt16BigEndian(p.AsSpan(20)) == 40000).ToList());
        Assert.Equal(b, seen.Where(p => BinaryPrimitives.ReadUInt16BigEndian(p.AsSpan(20)) == 40001).ToList());
        Assert.Equal(arrival.Count, seen.Count);
    }

    [Theory]
    [InlineData("fin")]
    [InlineData("syn")]
    [InlineData("rst")]
    [InlineData("options")]
    [InlineData("window")]
    [InlineData("ack")]
    [InlineData("ttl")]
    [InlineData("bad-checksum")]
    [InlineData("bad-ip-checksum")]
    [InlineData("ip-options")]
    [InlineData("fragment")]
    [InlineData("larger")]
    public void ASegmentThatDiffers_IsNotMerged_AndTheFlowStaysInOrder(string change)
    {
        List<byte[]> s = TcpSegments(6 * Mss);
        byte[] odd = s[3];
        switch (change)
        {
            case "fin": odd[33] |= 0x01; break;
            case "syn": odd[33] |= 0x02; break;
            case "rst": odd[33] |= 0x04; break;
            case "options": odd[Headers - 1] ^= 0x01; break; // the timestamp's echo reply
            case "window": odd[35] ^= 0x01; break;
            case "ack": odd[31] ^= 0x01; break;
            case "ttl": odd[8]--; break;
            case "bad-checksum": odd[Headers + 10] ^= 0xFF; break; // payload changed, checksum not
            case "bad-ip-checksum": odd[10] ^= 0x01; break;
            case "fragment": odd[6] |= 0x20; break; // more fragments
            case "ip-options": odd = WithIpOptions(odd); break;
            case "larger": odd = TcpSegments(6 * Mss)[3]; odd = Grow(odd); break;
        }

        if (change is "fin" or "syn" or "rst" or "options" or "window" or "ack" or "ttl" or "fragment")
        {
            FixChecksums(odd);
        }

        s[3] = odd;
        var sink = new OffloadingSink();
        DeliverAll(new ReceiveCoalescer(new DatapathCounters()), sink, s);

        Assert.Equal(s, AsKernelSees(sink));
        Assert.Contains(sink.Writes, w => w.Header is null && w.Packet.AsSpan().SequenceEqual(odd));
        Assert.DoesNotContain(sink.Writes, w => w.Header is not null && w.Packet.Length > Headers + (3 * Mss));
    }

    [Fact]
    public void ASmallerSegment_EndsTheSuperPacket_AndAPshEndsIt()
    {
        List<byte[]> first = TcpSegments(2 * Mss + 100, flags: 0x10);
        uint next = 1000 + (2 * Mss) + 100;
        List<byte[]> second = TcpSegments(3 * Mss, seq: next, flags: 0x18);
        List<byte[]> third = TcpSegments(2 * Mss, seq: next + (3 * Mss), flags: 0x10);
        var all = first.Concat(second).Concat(third).ToList();
        var sink = new OffloadingSink();

        DeliverAll(new ReceiveCoalescer(new DatapathCounters()), sink, all);

        Assert.Equal(3, sink.Writes.Count);
        Assert.Equal([3, 3, 2], sink.Writes.Select(w => GsoPacket.SegmentCount(w.Header!.Value, w.Packet)).ToArray());
        Assert.Equal(all, AsKernelSees(sink));
    }

    [Fact]
    public void ARefusedSuperPacket_IsCountedAsOneIoErrorPerSegment()
    {
        var counters = new DatapathCounters();
        var sink = new OffloadingSink { Fail = true };
        var coalescer = new ReceiveCoalescer(counters);

        DeliverAll(coalescer, sink, TcpSegments(5 * Mss));

        Assert.Equal(5, counters.Drops(DropReason.IoError));
    }

    [Fact]
    public void RandomArrivals_OfTwoFlows_ReachTheKernelInTheirArrivalOrderPerFlow()
    {
        for (int seed = 0; seed < 200; seed++)
        {
            var random = new Random(seed);
            List<byte[]> a = TcpSegments(random.Next(1, 20) * Mss + random.Next(0, Mss), sourcePort: 40000, seed: seed);
            List<byte[]> b = TcpSegments(random.Next(1, 20) * Mss, sourcePort: 40001, seed: seed + 1000);
            var arrival = a.Concat(b).OrderBy(_ => random.Next(4)).ToList();
            var sink = new OffloadingSink();

            DeliverAll(new ReceiveCoalescer(new DatapathCounters()), sink, arrival);

            List<byte[]> seen = AsKernelSees(sink);
            Assert.Equal(arrival.Count, seen.Count);
            foreach (ushort port in new ushort[] { 40000, 40001 })
            {
                Assert.Equal(arrival.Where(p => Port(p) == port).ToList(), seen.Where(p => Port(p) == port).ToList());
            }
        }
    }

    [Fact]
    public void Coalescing_AllocatesNothingPerPacket()
    {
        List<byte[]> segments = TcpSegments(40 * Mss);
        var sink = new CountingOffloadSink();
        var coalescer = new ReceiveCoalescer(new DatapathCounters());
        void Run()
        {
            foreach (byte[] p in segments)
            {
                coalescer.Deliver(sink, p);
            }

            coalescer.Flush();
        }

        Run();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            Run();
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(101, sink.SuperPackets);
    }

    private sealed class CountingOffloadSink : IPacketSink
    {
        public int SuperPackets { get; private set; }

        public bool AcceptsTcpSuperPackets => true;

        public bool TryWrite(ReadOnlySpan<byte> packet) => true;

        public bool TryWriteOffloaded(Span<byte> headerAndPacket, in VirtioNetHeader header)
        {
            SuperPackets++;
            return true;
        }
    }

    private static ushort Port(byte[] packet) => BinaryPrimitives.ReadUInt16BigEndian(packet.AsSpan(20));

    private static void AssertContiguous(byte[] packet)
    {
        // A write never holds more than the segments it was built of: its length is headers + whole payloads.
        Assert.True(packet.Length <= Headers + (8 * Mss));
    }

    private static byte[] Grow(byte[] segment)
    {
        var bigger = new byte[segment.Length + 10];
        segment.CopyTo(bigger, 0);
        BinaryPrimitives.WriteUInt16BigEndian(bigger.AsSpan(2), (ushort)bigger.Length);
        FixChecksums(bigger);
        return bigger;
    }

    private static byte[] WithIpOptions(byte[] segment)
    {
        var p = new byte[segment.Length + 4];
        segment.AsSpan(0, 20).CopyTo(p);
        segment.AsSpan(20).CopyTo(p.AsSpan(24));
        p[0] = 0x46;
        p[20] = 1; p[21] = 1; p[22] = 1; p[23] = 0; // NOPs, end of options
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)p.Length);
        p[10] = 0;
        p[11] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(10), TextbookComplement(p.AsSpan(0, 24), 0));
        return p;
    }

    /// <summary>Recomputes the IPv4 and TCP checksums of a changed segment (textbook, big-endian words).</summary>
    private static void FixChecksums(byte[] p)
    {
        p[10] = 0;
        p[11] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(10), TextbookComplement(p.AsSpan(0, 20), 0));
        int total = p.Length;
        p[36] = 0;
        p[37] = 0;
        uint pseudo = (uint)((p[12] << 8) | p[13]) + (uint)((p[14] << 8) | p[15]) + (uint)((p[16] << 8) | p[17]) + (uint)((p[18] << 8) | p[19]) + 6 + (uint)(total - 20);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(36), TextbookComplement(p.AsSpan(20), pseudo));
        Assert.True(SuperPackets.IpChecksumValid(p) && SuperPackets.TransportChecksumValid(p));
    }

    private static ushort TextbookComplement(ReadOnlySpan<byte> data, uint sum)
    {
        for (int i = 0; i < data.Length; i += 2)
        {
            sum += (uint)(data[i] << 8) | (i + 1 < data.Length ? data[i + 1] : 0u);
        }

        while ((sum >> 16) != 0)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }

        return (ushort)~sum;
    }
}
