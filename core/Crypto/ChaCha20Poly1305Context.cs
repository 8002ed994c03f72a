using System.Security.Cryptography;
using OverlayKvm.Core.Interop;
using CoreInterop = OverlayKvm.Core.Interop.Interop;

namespace OverlayKvm.Core.Crypto;

/// <summary>
/// ChaCha20-Poly1305 (RFC 8439) for one key and one direction on a reused OpenSSL context: the key is set once,
/// each call only sets the nonce. Seal and open work in place, allocate nothing, and a bad tag is a false
/// return, not an exception. Not thread-safe: one per worker.
/// </summary>
internal sealed class ChaCha20Poly1305Context : IDisposable
{
    public const int KeySize = 32;
    public const int NonceSize = 12;
    public const int TagSize = 16;
    private readonly SafeEvpCipherCtxHandle _ctx;
    private readonly int _encrypt;

    public unsafe ChaCha20Poly1305Context(ReadOnlySpan<byte> key, bool encrypt)
    {
        if (key.Length != KeySize)
        {
            throw new ArgumentException($"ChaCha20-Poly1305 key must be {KeySize} bytes", nameof(key));
        }
        _encrypt = encrypt ? 1 : 0;
        _ctx = CoreInterop.EvpCipherCtxNew();
        if (_ctx.IsInvalid)
        {
            throw new CryptographicException("EVP_CIPHER_CTX_new failed (libcrypto.so.3)");
        }
        // SAFETY: key is pinned for the call and is exactly 32 bytes, the cipher's key length; no IV yet (null).
        fixed (byte* k = key)
        {
            if (CoreInterop.EvpCipherInitEx(_ctx, CoreInterop.EvpChaCha20Poly1305(), IntPtr.Zero, k, null, _encrypt) != 1)
            {
                _ctx.Dispose();
                throw new CryptographicException("EVP_CipherInit_ex(chacha20-poly1305) failed");
            }
        }
    }

    /// <summary>Encrypts data in place and writes the tag. Returns false only if OpenSSL reports an error.</summary>
    public unsafe bool Seal(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> associatedData, Span<byte> data, Span<byte> tag)
    {
        if (_encrypt != 1 || nonce.Length != NonceSize || tag.Length != TagSize)
        {
            return false;
        }
        // SAFETY: every span is pinned for the duration of the calls; lengths passed are the spans' lengths;
        // input and output of the data update are the same buffer, which OpenSSL allows for stream ciphers.
        fixed (byte* n = nonce)
        fixed (byte* ad = associatedData)
        fixed (byte* d = data)
        fixed (byte* t = tag)
        {
            int outLength = 0;
            if (CoreInterop.EvpCipherInitEx(_ctx, IntPtr.Zero, IntPtr.Zero, null, n, -1) != 1
                || CoreInterop.EvpCipherUpdate(_ctx, null, &outLength, ad, associatedData.Length) != 1
                || (data.Length > 0 && CoreInterop.EvpCipherUpdate(_ctx, d, &outLength, d, data.Length) != 1)
                || CoreInterop.EvpCipherFinalEx(_ctx, d + data.Length, &outLength) != 1
                || CoreInterop.EvpCipherCtxCtrl(_ctx, CoreInterop.EVP_CTRL_AEAD_GET_TAG, TagSize, t) != 1)
            {
                return false;
            }
            return true;
        }
    }

    /// <summary>Verifies the tag and decrypts data in place. False when the tag does not verify (data is then garbage).</summary>
    public unsafe bool Open(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> associatedData, Span<byte> data, ReadOnlySpan<byte> tag)
    {
        if (_encrypt != 0 || nonce.Length != NonceSize || tag.Length != TagSize)
        {
            return false;
        }
        // SAFETY: as in Seal. SET_TAG copies the 16 tag bytes into the context before the final check.
        fixed (byte* n = nonce)
        fixed (byte* ad = associatedData)
        fixed (byte* d = data)
        fixed (byte* t = tag)
        {
            int outLength = 0;
            bool ok = CoreInterop.EvpCipherInitEx(_ctx, IntPtr.Zero, IntPtr.Zero, null, n, -1) == 1
                && CoreInterop.EvpCipherUpdate(_ctx, null, &outLength, ad, associatedData.Length) == 1
                && (data.Length == 0 || CoreInterop.EvpCipherUpdate(_ctx, d, &outLength, d, data.Length) == 1)
                && CoreInterop.EvpCipherCtxCtrl(_ctx, CoreInterop.EVP_CTRL_AEAD_SET_TAG, TagSize, t) == 1
                && CoreInterop.EvpCipherFinalEx(_ctx, d + data.Length, &outLength) == 1;
            if (!ok)
            {
                // Leave no error behind for the next OpenSSL user on this thread (the BCL reads the queue).
                CoreInterop.ErrClearError();
            }
            return ok;
        }
    }

    public void Dispose() => _ctx.Dispose();
}
