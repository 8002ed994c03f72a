using System.Buffers.Binary;
using OverlayKvm.Integration.Tests.Harness;

namespace OverlayKvm.Integration.Tests.Vm;

/// <summary>
/// Host-clock durations from a capture's record timestamps. The guests' own clocks are unreliable under TCG
/// (seen here: a guest's /proc/uptime jumped by over a minute during boot), so transfer times are taken from
/// when the frames crossed the host's bridge.
/// </summary>
internal static class PcapTiming
{
    /// <summary>Each record's timestamp in seconds, in file order (the order <see cref="PacketCapture.Read"/> decodes).</summary>
    public static List<double> Timestamps(byte[] pcap)
    {
        var times = new List<double>();
        if (pcap.Length < 24) return times;
        uint magic = BinaryPrimitives.ReadUInt32LittleEndian(pcap);
        double fraction = magic == 0xa1b23c4d ? 1e-9 : 1e-6; // nanosecond or microsecond pcap
        int offset = 24;
        while (offset + 16 <= pcap.Length)
        {
            uint seconds = BinaryPrimitives.ReadUInt32LittleEndian(pcap.AsSpan(offset));
            uint sub = BinaryPrimitives.ReadUInt32LittleEndian(pcap.AsSpan(offset + 4));
            int captured = (int)BinaryPrimitives.ReadUInt32LittleEndian(pcap.AsSpan(offset + 8));
            offset += 16;
            if (offset + captured > pcap.Length) break;
            times.Add(seconds + sub * fraction);
            offset += captured;
        }
        return times;
    }

    /// <summary>Seconds from the first to the last frame matching <paramref name="match"/>; 0 when fewer than two.</summary>
    public static double Span(byte[] pcap, List<CapturedFrame> frames, Func<CapturedFrame, bool> match)
    {
        var times = Timestamps(pcap);
        double first = double.NaN, last = double.NaN;
        for (int i = 0; i < frames.Count && i < times.Count; i++)
        {
            if (!match(frames[i])) continue;
            if (double.IsNaN(first)) first = times[i];
            last = times[i];
        }
        return double.IsNaN(first) ? 0 : last - first;
    }

    /// <summary>The TCP ports of an IPv4/TCP frame (CapturedFrame decodes ports for UDP only).</summary>
    public static (int Source, int Destination) TcpPorts(CapturedFrame f) =>
        f.Protocol == 6 && f.IpPayload.Length >= 4
            ? (BinaryPrimitives.ReadUInt16BigEndian(f.IpPayload), BinaryPrimitives.ReadUInt16BigEndian(f.IpPayload.AsSpan(2)))
            : (0, 0);

    /// <summary>Host-clock time of the first frame to the given phase-mark port (the SYN), NaN if absent.</summary>
    public static double MarkTime(List<CapturedFrame> frames, List<double> times, int port)
    {
        for (int i = 0; i < frames.Count && i < times.Count; i++)
        {
            if (TcpPorts(frames[i]).Destination == port) return times[i];
        }
        return double.NaN;
    }
}
