using System.Runtime.InteropServices;

namespace OverlayKvm.Core.Interop;

/// <summary>
/// The few OpenSSL 3 EVP calls the sealed path needs (libcrypto.so.3: Debian's libssl3, the same library the BCL
/// uses for its ChaCha20-Poly1305). Called directly because the BCL reports a bad tag only by throwing, and a
/// receiver must be able to reject forged frames without an exception per datagram.
/// </summary>
internal static partial class Interop
{
    private const string LibCrypto = "libcrypto.so.3";

    internal const int EVP_CTRL_AEAD_SET_IVLEN = 0x9;
    internal const int EVP_CTRL_AEAD_GET_TAG = 0x10;
    internal const int EVP_CTRL_AEAD_SET_TAG = 0x11;

    [LibraryImport(LibCrypto, EntryPoint = "EVP_CIPHER_CTX_new")]
    internal static partial SafeEvpCipherCtxHandle EvpCipherCtxNew();

    [LibraryImport(LibCrypto, EntryPoint = "EVP_CIPHER_CTX_free")]
    internal static partial void EvpCipherCtxFree(IntPtr ctx);

    [LibraryImport(LibCrypto, EntryPoint = "EVP_chacha20_poly1305")]
    internal static partial IntPtr EvpChaCha20Poly1305();

    [LibraryImport(LibCrypto, EntryPoint = "EVP_CipherInit_ex")]
    internal static unsafe partial int EvpCipherInitEx(SafeEvpCipherCtxHandle ctx, IntPtr cipher, IntPtr engine, byte* key, byte* iv, int enc);

    [LibraryImport(LibCrypto, EntryPoint = "EVP_CipherUpdate")]
    internal static unsafe partial int EvpCipherUpdate(SafeEvpCipherCtxHandle ctx, byte* output, int* outputLength, byte* input, int inputLength);

    [LibraryImport(LibCrypto, EntryPoint = "EVP_CipherFinal_ex")]
    internal static unsafe partial int EvpCipherFinalEx(SafeEvpCipherCtxHandle ctx, byte* output, int* outputLength);

    /// <summary>Empties this thread's OpenSSL error queue (a failed tag check may leave an entry behind).</summary>
    [LibraryImport(LibCrypto, EntryPoint = "ERR_clear_error")]
    internal static partial void ErrClearError();

    [LibraryImport(LibCrypto, EntryPoint = "EVP_CIPHER_CTX_ctrl")]
    internal static unsafe partial int EvpCipherCtxCtrl(SafeEvpCipherCtxHandle ctx, int type, int arg, void* ptr);
}
