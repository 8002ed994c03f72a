using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace OverlayKvm.Core.Crypto;

/// <summary>
/// Derives the key one sender uses for one group epoch (docs/sealed-frame.md "Keys"):
/// <c>HKDF-SHA256(ikm = group key of the epoch, salt = "overlaykvm sealed-frame v1",
/// info = group id ‖ epoch ‖ sender index)</c>, 32 bytes.
/// Every sender gets its own key, so two senders of a group can never produce the same (key, nonce) pair even if
/// their counters coincide, and a frame can only be opened as coming from the sender whose key sealed it.
/// </summary>
internal static class FrameKeySchedule
{
    public const int GroupKeySize = 32;
    public const int KeySize = 32;
    private static readonly byte[] Salt = Encoding.ASCII.GetBytes("overlaykvm sealed-frame v1");

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
}
