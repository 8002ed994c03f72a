using System.Buffers.Binary;
using System.Net;

namespace OverlayKvm.TestSupport.Packets;

/// <summary>
/// The inner packets tests and the bench hand to a datapath: a plain IPv4 header (no options) and, for TCP and UDP,
/// the two ports, written in place so the callers keep their buffers (and their headroom before the packet).
/// </summary>
public static class TestPackets
{
    public const int Ipv4HeaderSize = 20;
    public const byte Tcp = 6;
    public const byte Udp = 17;

    /// <summary>
    /// Version 4, header length 20, TTL 64, the total length, protocol and addresses; every other header byte zero.
    /// The header checksum stays 0 (the overlay never checks it); <see cref="WriteHeaderChecksum"/> is for a kernel that does.
    /// </summary>
    public static void WriteIpv4(Span<byte> packet, int totalLength, byte protocol, string source, string destination)
    {
        packet[..Ipv4HeaderSize].Clear();
        packet[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(packet[2..], (ushort)totalLength);
        packet[8] = 64;
        packet[9] = protocol;
        IPAddress.Parse(source).TryWriteBytes(packet[12..], out _);
        IPAddress.Parse(destination).TryWriteBytes(packet[16..], out _);
    }

    /// <summary>The source and destination ports right after the IPv4 header (where TCP and UDP both carry them).</summary>
    public static void WritePorts(Span<byte> packet, ushort source, ushort destination)
    {
        BinaryPrimitives.WriteUInt16BigEndian(packet[Ipv4HeaderSize..], source);
        BinaryPrimitives.WriteUInt16BigEndian(packet[(Ipv4HeaderSize + 2)..], destination);
    }

    /// <summary>The IPv4 header checksum (RFC 791), for packets that reach a real network stack.</summary>
    public static void WriteHeaderChecksum(Span<byte> packet)
    {
        BinaryPrimitives.WriteUInt16BigEndian(packet[10..], 0);
        uint sum = 0;
        for (int i = 0; i < Ipv4HeaderSize; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(packet[i..]);
        }
        while (sum > 0xFFFF)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }
        BinaryPrimitives.WriteUInt16BigEndian(packet[10..], (ushort)~sum);
    }
}
