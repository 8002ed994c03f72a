using System.Buffers.Binary;
using System.Diagnostics;
using CoreInterop = OverlayKvm.Core.Interop.Interop;

namespace OverlayKvm.Integration.Tests.Harness;

/// <summary>One captured Ethernet frame, decoded as far as IPv4/UDP.</summary>
internal sealed record CapturedFrame(ushort EtherType, string? Source, string? Destination, byte Protocol, int SourcePort, int DestinationPort, byte[] IpPayload, byte[] UdpPayload);

/// <summary>
/// tcpdump on an underlay interface inside a namespace, writing a pcap file; <see cref="Stop"/> ends it and
/// decodes every frame (classic pcap, Ethernet link type), so tests assert on what was really on the wire.
/// </summary>
internal sealed class PacketCapture : IDisposable
{
    private readonly Process _tcpdump;
    private readonly string _file;

    private PacketCapture(Process tcpdump, string file)
    {
        _tcpdump = tcpdump;
        _file = file;
    }

    public static PacketCapture Start(NetNamespace ns, string device, string file)
    {
        var psi = new ProcessStartInfo("ip") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string a in new[] { "netns", "exec", ns.Name, "tcpdump", "-i", device, "-U", "-n", "-s", "0", "-w", file })
        {
            psi.ArgumentList.Add(a);
        }
        var p = Process.Start(psi) ?? throw new InvalidOperationException("cannot start tcpdump");
        // tcpdump prints "listening on …" to stderr once the capture is armed.
        var ready = p.StandardError.ReadLineAsync();
        if (!ready.Wait(TimeSpan.FromSeconds(10)) || ready.Result is null || !ready.Result.Contains("listening", StringComparison.Ordinal))
        {
            p.Kill();
            throw new InvalidOperationException($"tcpdump on {ns.Name}/{device} did not start: {ready.Result}");
        }
        return new PacketCapture(p, file);
    }

    public List<CapturedFrame> Stop()
    {
        if (!_tcpdump.HasExited)
        {
            CoreInterop.Kill(_tcpdump.Id, 2);
            _tcpdump.WaitForExit(10_000);
        }
        return Read(_file);
    }

    internal static List<CapturedFrame> Read(string file)
    {
        byte[] data = File.ReadAllBytes(file);
        var frames = new List<CapturedFrame>();
        Assert.True(data.Length >= 24, $"pcap file {file} has no header ({data.Length} bytes)");
        uint magic = BinaryPrimitives.ReadUInt32LittleEndian(data);
        bool little = magic == 0xa1b2c3d4 || magic == 0xa1b23c4d;
        Assert.True(little, $"pcap file {file}: unexpected magic {magic:x8}");
        int offset = 24;
        while (offset + 16 <= data.Length)
        {
            int captured = (int)BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(offset + 8));
            offset += 16;
            if (offset + captured > data.Length)
            {
                break;
            }
            frames.Add(Decode(data.AsSpan(offset, captured)));
            offset += captured;
        }
        return frames;
    }

    private static CapturedFrame Decode(ReadOnlySpan<byte> frame)
    {
        ushort etherType = BinaryPrimitives.ReadUInt16BigEndian(frame.Slice(12));
        if (etherType != 0x0800 || frame.Length < 34)
        {
            return new CapturedFrame(etherType, null, null, 0, 0, 0, [], []);
        }
        ReadOnlySpan<byte> ip = frame.Slice(14);
        int ihl = (ip[0] & 0xF) * 4;
        int total = Math.Min(BinaryPrimitives.ReadUInt16BigEndian(ip.Slice(2)), ip.Length);
        string src = new System.Net.IPAddress(ip.Slice(12, 4)).ToString();
        string dst = new System.Net.IPAddress(ip.Slice(16, 4)).ToString();
        byte proto = ip[9];
        byte[] payload = ip.Slice(ihl, total - ihl).ToArray();
        if (proto == 17 && payload.Length >= 8)
        {
            return new CapturedFrame(etherType, src, dst, proto, BinaryPrimitives.ReadUInt16BigEndian(payload), BinaryPrimitives.ReadUInt16BigEndian(payload.AsSpan(2)), payload, payload[8..]);
        }
        return new CapturedFrame(etherType, src, dst, proto, 0, 0, payload, []);
    }

    public void Dispose()
    {
        if (!_tcpdump.HasExited)
        {
            _tcpdump.Kill();
            _tcpdump.WaitForExit(5000);
        }
        _tcpdump.Dispose();
        File.Delete(_file);
    }
}
