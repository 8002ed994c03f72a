using System.Buffers.Binary;
using System.Security.Cryptography;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.Wire;

namespace OverlayKvm.Core.Crypto;

/// <summary>
/// Seals and opens sealed frames for one sender stream key, in place: a frame is <c>header ‖ ciphertext ‖ tag</c> and
/// the header is the associated data. The group's cipher (<see cref="GroupCipher"/>, issue 16) decides the AEAD:
/// ChaCha20-Poly1305 (RFC 8439, 16-byte tag) through OpenSSL directly (<see cref="ChaCha20Poly1305Context"/>: the BCL's
/// throws on a bad tag), or AEGIS-256 (32-byte tag) through libsodium (<see cref="Aegis256Context"/>). Either way no
/// allocation per frame and a forged frame costs a false return. The frame's cipher byte is written by
/// <see cref="Seal"/> and checked by <see cref="Open"/>: a frame of another cipher never reaches the AEAD.
/// Nonce = sender index (4 bytes, BE) ‖ counter (8 bytes, BE), zero-padded to AEGIS-256's 32 bytes: unique per key as
/// long as the sender never reuses a counter within one stream (see <see cref="FrameCounter"/>); the key itself is per
/// sender stream (the header's salt, <see cref="FrameKeySchedule.DeriveStreamKey"/>), so a restored agent cannot repeat a pair either.
/// Not thread-safe (one native context per direction): one instance per worker that uses it.
/// </summary>
internal sealed class FrameCipher : IDisposable
{
    private const int NonceSize = Aegis256Context.NonceSize;
    private readonly ChaCha20Poly1305Context? _seal;
    private readonly ChaCha20Poly1305Context? _open;
    private readonly Aegis256Context? _aegis;

    public FrameCipher(ReadOnlySpan<byte> streamKey, GroupCipher cipher = GroupCipher.ChaCha20Poly1305)
    {
        Cipher = cipher;
        Overhead = SealedFrameHeader.OverheadOf(cipher);
        if (cipher == GroupCipher.Aegis256)
        {
            _aegis = new Aegis256Context(streamKey);
        }
        else if (cipher == GroupCipher.ChaCha20Poly1305)
        {
            _seal = new ChaCha20Poly1305Context(streamKey, encrypt: true);
            _open = new ChaCha20Poly1305Context(streamKey, encrypt: false);
        }
        else
        {
            throw new ArgumentOutOfRangeException(nameof(cipher), cipher, "not a known group cipher");
        }
    }

    /// <summary>The AEAD of this stream: the group's cipher.</summary>
    public GroupCipher Cipher { get; }

    /// <summary>Bytes a frame adds to the inner packet: header + this cipher's tag (48 or 64).</summary>
    public int Overhead { get; }

    /// <summary>The cipher of one sender stream: sender key from the group key, then the stream key from the salt.</summary>
    public static FrameCipher ForSender(ReadOnlySpan<byte> groupKey, uint groupId, uint epoch, uint senderIndex, ulong streamSalt,
        GroupCipher cipher = GroupCipher.ChaCha20Poly1305)
    {
        Span<byte> key = stackalloc byte[FrameKeySchedule.KeySize];
        try
        {
            FrameKeySchedule.DeriveSenderKey(groupKey, groupId, epoch, senderIndex, key);
            return ForStream(key, streamSalt, cipher);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>The cipher of the stream <paramref name="streamSalt"/> of a sender whose key is <paramref name="senderKey"/>.</summary>
    public static FrameCipher ForStream(ReadOnlySpan<byte> senderKey, ulong streamSalt, GroupCipher cipher = GroupCipher.ChaCha20Poly1305)
    {
        Span<byte> key = stackalloc byte[FrameKeySchedule.KeySize];
        try
        {
            FrameKeySchedule.DeriveStreamKey(senderKey, streamSalt, key);
            return new FrameCipher(key, cipher);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>
    /// Seals the plaintext already placed at <c>frame[SealedFrameHeader.Size..]</c> (length plaintextLength) and writes
    /// header (with this cipher's byte, whatever <paramref name="header"/> says) and tag around it (for
    /// <see cref="FrameType.AuthenticatedData"/>: authenticates it, leaving it in clear).
    /// Returns the frame length, or -1 if frame is too small.
    /// </summary>
    public int Seal(in SealedFrameHeader header, Span<byte> frame, int plaintextLength)
    {
        int frameLength = Overhead + plaintextLength;
        var own = new SealedFrameHeader(header.Type, header.GroupId, header.Epoch, header.SenderIndex, header.Salt, header.Counter, Cipher);
        if (plaintextLength < 0 || frame.Length < frameLength || !own.TryWrite(frame))
        {
            return -1;
        }
        return Apply(seal: true, header, frame, plaintextLength) ? frameLength : -1;
    }

    /// <summary>
    /// Opens a whole frame in place (header already parsed into header). Returns the plaintext length (the
    /// plaintext is at <c>frame[SealedFrameHeader.Size..]</c>), or -1 when the frame is not of this cipher or the
    /// tag does not verify.
    /// </summary>
    public int Open(in SealedFrameHeader header, Span<byte> frame)
    {
        int plaintextLength = frame.Length - Overhead;
        if (plaintextLength < 0 || header.Cipher != Cipher)
        {
            return -1;
        }
        return Apply(seal: false, header, frame, plaintextLength) ? plaintextLength : -1;
    }

    /// <summary>Seals or opens the frame's body in place with this stream's AEAD; the nonce comes from the header.</summary>
    private bool Apply(bool seal, in SealedFrameHeader header, Span<byte> frame, int plaintextLength)
    {
        Span<byte> nonce = stackalloc byte[NonceSize];
        WriteNonce(nonce, header.SenderIndex, header.Counter);
        Parts(header.Type, frame, plaintextLength, out Span<byte> associated, out int bodyStart, out int bodyLength);
        if (_aegis is not null)
        {
            Span<byte> message = frame.Slice(bodyStart, bodyLength + Aegis256Context.TagSize);
            return seal ? _aegis.Seal(nonce, associated, message, bodyLength) : _aegis.Open(nonce, associated, message, bodyLength);
        }
        Span<byte> chachaNonce = nonce.Slice(0, ChaCha20Poly1305Context.NonceSize);
        Span<byte> body = frame.Slice(bodyStart, bodyLength);
        Span<byte> tag = frame.Slice(bodyStart + bodyLength, ChaCha20Poly1305Context.TagSize);
        return seal ? _seal!.Seal(chachaNonce, associated, body, tag) : _open!.Open(chachaNonce, associated, body, tag);
    }

    /// <summary>
    /// The AEAD's inputs within a frame: normally the header is associated data and the packet is encrypted; for
    /// <see cref="FrameType.AuthenticatedData"/> header and packet are both associated data and nothing is encrypted.
    /// The tag always follows the body directly.
    /// </summary>
    private static void Parts(FrameType type, Span<byte> frame, int plaintextLength, out Span<byte> associated, out int bodyStart, out int bodyLength)
    {
        bool clear = type == FrameType.AuthenticatedData;
        associated = frame.Slice(0, SealedFrameHeader.Size + (clear ? plaintextLength : 0));
        bodyStart = associated.Length;
        bodyLength = clear ? 0 : plaintextLength;
    }

    /// <summary>True once disposed: the OpenSSL contexts are freed (EVP_CIPHER_CTX_free cleanses the key schedule) or the libsodium key released.</summary>
    public bool IsDisposed { get; private set; }

    public void Dispose()
    {
        IsDisposed = true;
        _seal?.Dispose();
        _open?.Dispose();
        _aegis?.Dispose();
    }

    private static void WriteNonce(Span<byte> nonce, uint senderIndex, ulong counter)
    {
        BinaryPrimitives.WriteUInt32BigEndian(nonce, senderIndex);
        BinaryPrimitives.WriteUInt64BigEndian(nonce.Slice(4), counter);
        nonce.Slice(12).Clear();
    }
}
