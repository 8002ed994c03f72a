using System.Buffers.Binary;

namespace OverlayKvm.Core.Wire;

/// <summary>
/// The few fields of an inner IPv4 packet (RFC 791) the datapath needs: routing is by destination, anti-spoofing
/// by source. Addresses are returned as big-endian uint32 so lookups allocate nothing.
/// <code>
/// 0: version(4) IHL(4) | 1: TOS | 2-3: total length | ... | 12-15: source | 16-19: destination
/// </code>
/// </summary>
internal static class Ipv4Packet
{
    public const int MinHeaderSize = 20;
    private const int TotalLengthOffset = 2;
    private const int SourceOffset = 12;
    private const int DestinationOffset = 16;

    /// <summary>
    /// Checks that packet holds a whole IPv4 packet (version 4, IHL ≥ 5, total length within the buffer and not
    /// shorter than the header) and returns its addresses.
    /// </summary>
    public static bool TryReadAddresses(ReadOnlySpan<byte> packet, out uint source, out uint destination)
    {
        source = 0;
        destination = 0;
        if (packet.Length < MinHeaderSize || (packet[0] >> 4) != 4)
        {
            return false;
        }
        int headerLength = (packet[0] & 0x0F) * 4;
        int totalLength = BinaryPrimitives.ReadUInt16BigEndian(packet.Slice(TotalLengthOffset));
        if (headerLength < MinHeaderSize || totalLength < headerLength || totalLength > packet.Length)
        {
            return false;
        }
        source = BinaryPrimitives.ReadUInt32BigEndian(packet.Slice(SourceOffset));
        destination = BinaryPrimitives.ReadUInt32BigEndian(packet.Slice(DestinationOffset));
        return true;
    }

    /// <summary>The total length field (callers first validate with <see cref="TryReadAddresses"/>).</summary>
    public static int TotalLength(ReadOnlySpan<byte> packet) => BinaryPrimitives.ReadUInt16BigEndian(packet.Slice(TotalLengthOffset));

    public const byte Icmp = 1;
    public const byte Tcp = 6;
    public const byte Udp = 17;
    private const int ProtocolOffset = 9;
    private const int FlagsFragmentOffset = 6;

    /// <summary>
    /// The flow fields a policy looks at: IP protocol and, for TCP/UDP, the ports (0 when absent: other protocols,
    /// a transport header cut short, or a non-first fragment, which carries no transport header — so a port
    /// policy never matches one). Callers first validate with <see cref="TryReadAddresses"/>.
    /// </summary>
    public static void ReadFlow(ReadOnlySpan<byte> packet, out byte protocol, out ushort sourcePort, out ushort destinationPort)
    {
        protocol = packet[ProtocolOffset];
        sourcePort = 0;
        destinationPort = 0;
        if (protocol is not (Tcp or Udp) || (BinaryPrimitives.ReadUInt16BigEndian(packet.Slice(FlagsFragmentOffset)) & 0x1FFF) != 0)
        {
            return;
        }
        int headerLength = (packet[0] & 0x0F) * 4;
        if (headerLength + 4 > TotalLength(packet))
        {
            return;
        }
        sourcePort = BinaryPrimitives.ReadUInt16BigEndian(packet.Slice(headerLength));
        destinationPort = BinaryPrimitives.ReadUInt16BigEndian(packet.Slice(headerLength + 2));
    }
}
