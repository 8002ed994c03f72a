using System.Buffers.Binary;
using System.Security.Cryptography;
using OverlayKvm.Core.Wire;

namespace OverlayKvm.Core.Crypto;

/// <summary>
/// Seals and opens sealed frames for one (group, epoch, sender) key with ChaCha20-Poly1305 (RFC 8439), in place:
/// a frame is <c>header ‖ ciphertext ‖ tag</c> and the header is the associated data. Uses OpenSSL directly
/// (<see cref="ChaCha20Poly1305Context"/>): no allocation, and a forged frame costs a false return, not an
/// exception (the BCL's ChaCha20Poly1305 throws on a bad tag). Interoperability with the BCL is tested.
/// Nonce = sender index (4 bytes, BE) ‖ counter (8 bytes, BE): unique per key as long as the sender never reuses
/// a counter within one stream (see <see cref="FrameCounter"/>); the key itself is per sender stream (the header's
/// salt, <see cref="FrameKeySchedule.DeriveStreamKey"/>), so a restored agent cannot repeat a pair either.
/// Not thread-safe (one native context per direction): one instance per worker that uses it.
/// </summary>
internal sealed class FrameCipher : IDisposable
{
    private const int NonceSize = 12;
    private readonly ChaCha20Poly1305Context _seal;
    private readonly ChaCha20Poly1305Context _open;

    public FrameCipher(ReadOnlySpan<byte> senderKey)
    {
        _seal = new ChaCha20Poly1305Context(senderKey, encrypt: true);
        _open = new ChaCha20Poly1305Context(senderKey, encrypt: false);
    }

    /// <summary>The cipher of one sender stream: sender key from the group key, then the stream key from the salt.</summary>
    public static FrameCipher ForSender(ReadOnlySpan<byte> groupKey, uint groupId, uint epoch, uint senderIndex, ulong streamSalt)
    {
        Span<byte> key = stackalloc byte[FrameKeySchedule.KeySize];
        try
        {
            FrameKeySchedule.DeriveSenderKey(groupKey, groupId, epoch, senderIndex, key);
            return ForStream(key, streamSalt);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>The cipher of the stream <paramref name="streamSalt"/> of a sender whose key is <paramref name="senderKey"/>.</summary>
    public static FrameCipher ForStream(ReadOnlySpan<byte> senderKey, ulong streamSalt)
    {
        Span<byte> key = stackalloc byte[FrameKeySchedule.KeySize];
        try
        {
            FrameKeySchedule.DeriveStreamKey(senderKey, streamSalt, key);
            return new FrameCipher(key);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>
    /// Seals the plaintext already placed at <c>frame[SealedFrameHeader.Size..]</c> (length plaintextLength) and writes
    /// header and tag around it (for <see cref="FrameType.AuthenticatedData"/>: authenticates it, leaving it in clear).
    /// Returns the frame length, or -1 if frame is too small.
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
        Parts(header.Type, frame, plaintextLength, out Span<byte> associated, out Span<byte> body, out Span<byte> tag);
        return _seal.Seal(nonce, associated, body, tag) ? frameLength : -1;
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
        Parts(header.Type, frame, plaintextLength, out Span<byte> associated, out Span<byte> body, out Span<byte> tag);
        return _open.Open(nonce, associated, body, tag) ? plaintextLength : -1;
    }

    /// <summary>
    /// The AEAD's inputs within a frame: normally the header is associated data and the packet is encrypted; for
    /// <see cref="FrameType.AuthenticatedData"/> header and packet are both associated data and nothing is encrypted.
    /// </summary>
    private static void Parts(FrameType type, Span<byte> frame, int plaintextLength, out Span<byte> associated, out Span<byte> body, out Span<byte> tag)
    {
        bool clear = type == FrameType.AuthenticatedData;
        associated = frame.Slice(0, SealedFrameHeader.Size + (clear ? plaintextLength : 0));
        body = clear ? Span<byte>.Empty : frame.Slice(SealedFrameHeader.Size, plaintextLength);
        tag = frame.Slice(SealedFrameHeader.Size + plaintextLength, SealedFrameHeader.TagSize);
    }

    /// <summary>True once disposed: both OpenSSL contexts are freed (EVP_CIPHER_CTX_free cleanses the key schedule).</summary>
    public bool IsDisposed { get; private set; }

    public void Dispose()
    {
        IsDisposed = true;
        _seal.Dispose();
        _open.Dispose();
    }

    private static void WriteNonce(Span<byte> nonce, uint senderIndex, ulong counter)
    {
        BinaryPrimitives.WriteUInt32BigEndian(nonce, senderIndex);
        BinaryPrimitives.WriteUInt64BigEndian(nonce.Slice(4), counter);
    }
}
