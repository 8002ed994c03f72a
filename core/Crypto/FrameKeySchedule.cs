using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace OverlayKvm.Core.Crypto;

/// <summary>
/// Derives the key one sender uses for one group epoch (docs/sealed-frame.md "Keys"):
/// <c>HKDF-SHA256(ikm = group key of the epoch, salt = "overlaykvm sealed-frame v1",
/// info = group id ‖ epoch ‖ sender index)</c>, 32 bytes.
/// Each sender stream then derives its sealing key from this one and the stream salt (<see cref="DeriveStreamKey"/>).
/// Every sender gets its own key, so two senders of a group can never produce the same (key, nonce) pair even if
/// their counters coincide, and a frame can only be opened as coming from the sender whose key sealed it.
/// </summary>
internal static class FrameKeySchedule
{
    public const int GroupKeySize = 32;
    public const int KeySize = 32;
    public const int StreamSaltSize = 8;
    private static readonly byte[] Salt = Encoding.ASCII.GetBytes("overlaykvm sealed-frame v1");
    private static readonly byte[] StreamLabel = Encoding.ASCII.GetBytes("overlaykvm sealed-frame v2 stream");

    public static void DeriveSenderKey(ReadOnlySpan<byte> groupKey, uint groupId, uint epoch, uint senderIndex, Span<byte> senderKey)
    {
        if (groupKey.Length != GroupKeySize)
        {
            throw new ArgumentException($"group key of epoch {epoch} must be {GroupKeySize} bytes, got {groupKey.Length}", nameof(groupKey));
        }
        if (senderKey.Length != KeySize)
        {
            throw new ArgumentException($"sender key buffer must be {KeySize} bytes", nameof(senderKey));
        }
        Span<byte> info = stackalloc byte[12];
        BinaryPrimitives.WriteUInt32BigEndian(info, groupId);
        BinaryPrimitives.WriteUInt32BigEndian(info.Slice(4), epoch);
        BinaryPrimitives.WriteUInt32BigEndian(info.Slice(8), senderIndex);
        HKDF.DeriveKey(HashAlgorithmName.SHA256, groupKey, senderKey, Salt, info);
    }

    /// <summary>
    /// The key one sender stream seals with (issue 14 item 4):
    /// <c>HKDF-SHA256(ikm = sender key, salt = "overlaykvm sealed-frame v2 stream", info = stream salt, 8 bytes BE)</c>.
    /// A restored or reverted agent draws a new random salt when it starts, so even with the same epoch and the
    /// same counters it seals with a key never used before.
    /// </summary>
    public static void DeriveStreamKey(ReadOnlySpan<byte> senderKey, ulong streamSalt, Span<byte> streamKey)
    {
        if (senderKey.Length != KeySize || streamKey.Length != KeySize)
        {
            throw new ArgumentException($"sender and stream keys must be {KeySize} bytes", nameof(senderKey));
        }
        Span<byte> info = stackalloc byte[StreamSaltSize];
        BinaryPrimitives.WriteUInt64BigEndian(info, streamSalt);
        HKDF.DeriveKey(HashAlgorithmName.SHA256, senderKey, streamKey, StreamLabel, info);
    }

    /// <summary>A random stream salt (never 0, so 0 can mean "no stream yet").</summary>
    public static ulong NewStreamSalt()
    {
        Span<byte> bytes = stackalloc byte[StreamSaltSize];
        ulong salt;
        do
        {
            RandomNumberGenerator.Fill(bytes);
            salt = BinaryPrimitives.ReadUInt64BigEndian(bytes);
        }
        while (salt == 0);
        return salt;
    }
}
