using System.Buffers.Binary;

namespace OverlayKvm.Core.Wire;

/// <summary>
/// The 10-byte <c>struct virtio_net_hdr</c> (linux/virtio_net.h) a TUN device opened with <c>IFF_VNET_HDR</c> puts
/// in front of every packet it reads and expects in front of every packet written to it. Little-endian (a TUN's
/// default on x86 and arm64; legacy virtio is native-endian and we never set TUNSETVNETBE).
/// <code>
/// 0: flags (1 = NEEDS_CSUM, 2 = DATA_VALID) | 1: gso_type (0 none, 1 TCPv4, 3 UDP, 4 TCPv6, 5 UDP_L4, |0x80 ECN)
/// 2-3: hdr_len | 4-5: gso_size | 6-7: csum_start | 8-9: csum_offset
/// </code>
/// Parsed and built with BinaryPrimitives; nothing here trusts the values: see <see cref="GsoPacket.Check"/>.
/// </summary>
internal readonly record struct VirtioNetHeader(byte Flags, byte GsoType, ushort HeaderLength, ushort GsoSize, ushort ChecksumStart, ushort ChecksumOffset)
{
    public const int Size = 10;

    public const byte NeedsChecksum = 1;
    public const byte DataValid = 2;

    public const byte GsoNone = 0;
    public const byte GsoTcpV4 = 1;
    public const byte GsoUdp = 3;
    public const byte GsoTcpV6 = 4;
    public const byte GsoUdpL4 = 5;
    public const byte GsoEcn = 0x80;

    public bool IsGso => GsoType != GsoNone;

    public static bool TryRead(ReadOnlySpan<byte> source, out VirtioNetHeader header)
    {
        if (source.Length < Size)
        {
            header = default;
            return false;
        }

        header = new VirtioNetHeader(
            source[0],
            source[1],
            BinaryPrimitives.ReadUInt16LittleEndian(source.Slice(2)),
            BinaryPrimitives.ReadUInt16LittleEndian(source.Slice(4)),
            BinaryPrimitives.ReadUInt16LittleEndian(source.Slice(6)),
            BinaryPrimitives.ReadUInt16LittleEndian(source.Slice(8)));
        return true;
    }

    public void Write(Span<byte> destination)
    {
        destination[0] = Flags;
        destination[1] = GsoType;
        BinaryPrimitives.WriteUInt16LittleEndian(destination.Slice(2), HeaderLength);
        BinaryPrimitives.WriteUInt16LittleEndian(destination.Slice(4), GsoSize);
        BinaryPrimitives.WriteUInt16LittleEndian(destination.Slice(6), ChecksumStart);
        BinaryPrimitives.WriteUInt16LittleEndian(destination.Slice(8), ChecksumOffset);
    }
}
