using System.Buffers.Binary;
using OverlayKvm.Core.Model;

namespace OverlayKvm.Core.Wire;

/// <summary>
/// Header of a sealed frame (docs/sealed-frame.md). It travels in clear and is the AEAD's associated data, so
/// every field is authenticated. All integers are big-endian (network order).
/// <code>
///  0               1               2               3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +---------------+---------------+-------------------------------+
/// |   version=2   |     type      |    cipher     | reserved (0)  |  0
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
/// |   ciphertext (inner IP packet) ...   | tag (16 or 32 bytes)   | 32
/// </code>
/// The cipher byte is the <see cref="GroupCipher"/> that sealed the frame (0 ChaCha20-Poly1305, tag 16; 1 AEGIS-256,
/// tag 32; issue 16); it was the first reserved byte, so agents from before it drop such frames as malformed.
/// </summary>
internal readonly struct SealedFrameHeader
{
    /// <summary>2: the stream salt was added (issue 14 item 4); version 1 frames are refused as malformed.</summary>
    public const byte CurrentVersion = 2;
    public const int Size = 32;
    /// <summary>The smallest tag (ChaCha20-Poly1305's): a shorter frame is never valid.</summary>
    public const int TagSize = 16;
    /// <summary>The largest tag (AEGIS-256's): what buffers leave after a packet so that any group's frame fits.</summary>
    public const int MaxTagSize = 32;
    /// <summary>Fewest bytes a sealed frame adds to the inner packet: header + the smallest tag (the group's: <see cref="OverheadOf"/>).</summary>
    public const int Overhead = Size + TagSize;

    /// <summary>Bytes a frame of <paramref name="cipher"/> adds to the inner packet: header + that cipher's tag.</summary>
    public static int OverheadOf(GroupCipher cipher) => Size + TagSizeOf(cipher);

    public static int TagSizeOf(GroupCipher cipher) => cipher == GroupCipher.Aegis256 ? MaxTagSize : TagSize;

    private const int VersionOffset = 0;
    private const int TypeOffset = 1;
    private const int CipherOffset = 2;
    private const int ReservedOffset = 3;
    private const int GroupOffset = 4;
    private const int EpochOffset = 8;
    private const int SenderOffset = 12;
    private const int SaltOffset = 16;
    private const int CounterOffset = 24;

    public SealedFrameHeader(FrameType type, uint groupId, uint epoch, uint senderIndex, ulong salt, ulong counter, GroupCipher cipher = GroupCipher.ChaCha20Poly1305)
    {
        Type = type;
        Cipher = cipher;
        GroupId = groupId;
        Epoch = epoch;
        SenderIndex = senderIndex;
        Salt = salt;
        Counter = counter;
    }

    public FrameType Type { get; }

    /// <summary>The AEAD that sealed the frame; a receiver drops a frame whose cipher is not its group's, never tries another.</summary>
    public GroupCipher Cipher { get; }

    public uint GroupId { get; }

    public uint Epoch { get; }

    public uint SenderIndex { get; }

    /// <summary>The sender's stream salt: random per agent start, so a restored agent never repeats a (key, nonce) pair.</summary>
    public ulong Salt { get; }

    public ulong Counter { get; }

    /// <summary>
    /// Reads the header of a whole frame. Fails for: fewer than header + tag bytes, a version other than 2, an
    /// unknown type or cipher, or a non-zero reserved byte (kept zero so a future version can use it).
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> frame, out SealedFrameHeader header)
    {
        if (frame.Length < Overhead
            || frame[VersionOffset] != CurrentVersion
            || frame[TypeOffset] is not ((byte)FrameType.Data or (byte)FrameType.Control or (byte)FrameType.AuthenticatedData or (byte)FrameType.ClearData)
            || frame[CipherOffset] > (byte)GroupCipher.Aegis256
            || frame[ReservedOffset] != 0)
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
            BinaryPrimitives.ReadUInt64BigEndian(frame.Slice(CounterOffset)),
            (GroupCipher)frame[CipherOffset]);
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
        destination[CipherOffset] = (byte)Cipher;
        destination[ReservedOffset] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(destination.Slice(GroupOffset), GroupId);
        BinaryPrimitives.WriteUInt32BigEndian(destination.Slice(EpochOffset), Epoch);
        BinaryPrimitives.WriteUInt32BigEndian(destination.Slice(SenderOffset), SenderIndex);
        BinaryPrimitives.WriteUInt64BigEndian(destination.Slice(SaltOffset), Salt);
        BinaryPrimitives.WriteUInt64BigEndian(destination.Slice(CounterOffset), Counter);
        return true;
    }
}
