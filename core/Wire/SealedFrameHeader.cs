using System.Buffers.Binary;

namespace OverlayKvm.Core.Wire;

/// <summary>
/// Header of a sealed frame (docs/sealed-frame.md). It travels in clear and is the AEAD's associated data, so
/// every field is authenticated. All integers are big-endian (network order).
/// <code>
///  0               1               2               3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +---------------+---------------+-------------------------------+
/// |   version=2   |     type      |        reserved (zero)        |  0
/// +---------------+---------------+-------------------------------+
/// |                           group id                            |  4
/// +---------------------------------------------------------------+
/// |                           key epoch                           |  8
/// +---------------------------------------------------------------+
/// |                         sender index                          | 12
/// +---------------------------------------------------------------+
/// |                  stream salt (64 bits, random per             | 16
/// |                  sender start; in the key derivation)         |
/// +---------------------------------------------------------------+
/// |                     counter (64 bits)                         | 24
/// |                                                               |
/// +---------------------------------------------------------------+
/// |   ciphertext (inner IP packet) ...   | tag (16 bytes)         | 32
/// </code>
/// </summary>
internal readonly struct SealedFrameHeader
{
    /// <summary>2: the stream salt was added (issue 14 item 4); version 1 frames are refused as malformed.</summary>
    public const byte CurrentVersion = 2;
    public const int Size = 32;
    public const int TagSize = 16;
    /// <summary>Bytes a sealed frame adds to the inner packet: header + tag.</summary>
    public const int Overhead = Size + TagSize;

    private const int VersionOffset = 0;
    private const int TypeOffset = 1;
    private const int ReservedOffset = 2;
    private const int GroupOffset = 4;
    private const int EpochOffset = 8;
    private const int SenderOffset = 12;
    private const int SaltOffset = 16;
    private const int CounterOffset = 24;

    public SealedFrameHeader(FrameType type, uint groupId, uint epoch, uint senderIndex, ulong salt, ulong counter)
    {
        Type = type;
        GroupId = groupId;
        Epoch = epoch;
        SenderIndex = senderIndex;
        Salt = salt;
        Counter = counter;
    }

    public FrameType Type { get; }

    public uint GroupId { get; }

    public uint Epoch { get; }

    public uint SenderIndex { get; }

    /// <summary>The sender's stream salt: random per agent start, so a restored agent never repeats a (key, nonce) pair.</summary>
    public ulong Salt { get; }

    public ulong Counter { get; }

    /// <summary>
    /// Reads the header of a whole frame. Fails for: fewer than header + tag bytes, a version other than 2, an
    /// unknown type, or non-zero reserved bits (kept zero so a future version can use them).
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> frame, out SealedFrameHeader header)
    {
        if (frame.Length < Overhead
            || frame[VersionOffset] != CurrentVersion
            || frame[TypeOffset] is not ((byte)FrameType.Data or (byte)FrameType.Control or (byte)FrameType.AuthenticatedData or (byte)FrameType.ClearData)
            || BinaryPrimitives.ReadUInt16BigEndian(frame.Slice(ReservedOffset)) != 0)
        {
            header = default;
            return false;
        }
        header = new SealedFrameHeader(
            (FrameType)frame[TypeOffset],
            BinaryPrimitives.ReadUInt32BigEndian(frame.Slice(GroupOffset)),
            BinaryPrimitives.ReadUInt32BigEndian(frame.Slice(EpochOffset)),
            BinaryPrimitives.ReadUInt32BigEndian(frame.Slice(SenderOffset)),
            BinaryPrimitives.ReadUInt64BigEndian(frame.Slice(SaltOffset)),
            BinaryPrimitives.ReadUInt64BigEndian(frame.Slice(CounterOffset)));
        return true;
    }

    public bool TryWrite(Span<byte> destination)
    {
        if (destination.Length < Size)
        {
            return false;
        }
        destination[VersionOffset] = CurrentVersion;
        destination[TypeOffset] = (byte)Type;
        BinaryPrimitives.WriteUInt16BigEndian(destination.Slice(ReservedOffset), 0);
        BinaryPrimitives.WriteUInt32BigEndian(destination.Slice(GroupOffset), GroupId);
        BinaryPrimitives.WriteUInt32BigEndian(destination.Slice(EpochOffset), Epoch);
        BinaryPrimitives.WriteUInt32BigEndian(destination.Slice(SenderOffset), SenderIndex);
        BinaryPrimitives.WriteUInt64BigEndian(destination.Slice(SaltOffset), Salt);
        BinaryPrimitives.WriteUInt64BigEndian(destination.Slice(CounterOffset), Counter);
        return true;
    }
}
