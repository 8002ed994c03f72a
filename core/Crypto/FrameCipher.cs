using System.Buffers.Binary;
using System.Security.Cryptography;
using OverlayKvm.Core.Wire;

namespace OverlayKvm.Core.Crypto;

/// <summary>
/// Seals and opens sealed frames for one (group, epoch, sender) key with ChaCha20-Poly1305 (RFC 8439), in place:
/// a frame is <c>header ‖ ciphertext ‖ tag</c> and the header is the associated data.
/// Nonce = sender index (4 bytes, BE) ‖ counter (8 bytes, BE): unique per key as long as the sender never reuses
/// a counter (see <see cref="FrameCounter"/>).
/// Not thread-safe (the BCL cipher keeps one native context): one instance per worker that uses it.
/// </summary>
internal sealed class FrameCipher : IDisposable
{
    private const int NonceSize = 12;
    private readonly ChaCha20Poly1305 _aead;

    public FrameCipher(ReadOnlySpan<byte> senderKey)
    {
        _aead = new ChaCha20Poly1305(senderKey);
    }

    public static FrameCipher ForSender(ReadOnlySpan<byte> groupKey, uint groupId, uint epoch, uint senderIndex)
    {
        Span<byte> key = stackalloc byte[FrameKeySchedule.KeySize];
        try
        {
            FrameKeySchedule.DeriveSenderKey(groupKey, groupId, epoch, senderIndex, key);
            return new FrameCipher(key);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>
    /// Seals the plaintext already placed at <c>frame[SealedFrameHeader.Size..]</c> (length plaintextLength) and writes
    /// header and tag around it. Returns the frame length, or -1 if frame is too small.
    /// </summary>
    public int Seal(in SealedFrameHeader header, Span<byte> frame, int plaintextLength)
    {
        int frameLength = SealedFrameHeader.Overhead + plaintextLength;
        if (plaintextLength < 0 || frame.Length < frameLength || !header.TryWrite(frame))
        {
            return -1;
        }
        Span<byte> nonce = stackalloc byte[NonceSize];
        WriteNonce(nonce, header.SenderIndex, header.Counter);
        Span<byte> body = frame.Slice(SealedFrameHeader.Size, plaintextLength);
        _aead.Encrypt(nonce, body, body, frame.Slice(SealedFrameHeader.Size + plaintextLength, SealedFrameHeader.TagSize), frame.Slice(0, SealedFrameHeader.Size));
        return frameLength;
    }

    /// <summary>
    /// Opens a whole frame in place (header already parsed into header). Returns the plaintext length (the
    /// plaintext is at <c>frame[SealedFrameHeader.Size..]</c>), or -1 when the tag does not verify.
    /// </summary>
    public int Open(in SealedFrameHeader header, Span<byte> frame)
    {
        int plaintextLength = frame.Length - SealedFrameHeader.Overhead;
        if (plaintextLength < 0)
        {
            return -1;
        }
        Span<byte> nonce = stackalloc byte[NonceSize];
        WriteNonce(nonce, header.SenderIndex, header.Counter);
        Span<byte> body = frame.Slice(SealedFrameHeader.Size, plaintextLength);
        try
        {
            _aead.Decrypt(nonce, body, frame.Slice(SealedFrameHeader.Size + plaintextLength, SealedFrameHeader.TagSize), body, frame.Slice(0, SealedFrameHeader.Size));
        }
        catch (AuthenticationTagMismatchException)
        {
            // The BCL reports a bad tag only by exception (and zeroes the output); this is the drop path, counted
            // as `auth` by the caller. Valid frames never get here.
            return -1;
        }
        return plaintextLength;
    }

    public void Dispose() => _aead.Dispose();

    private static void WriteNonce(Span<byte> nonce, uint senderIndex, ulong counter)
    {
        BinaryPrimitives.WriteUInt32BigEndian(nonce, senderIndex);
        BinaryPrimitives.WriteUInt64BigEndian(nonce.Slice(4), counter);
    }
}
