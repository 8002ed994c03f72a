using Microsoft.Win32.SafeHandles;

namespace OverlayKvm.Core.Interop;

/// <summary>An OpenSSL EVP_CIPHER_CTX, freed (and its key material cleared by OpenSSL) on release.</summary>
internal sealed class SafeEvpCipherCtxHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    public SafeEvpCipherCtxHandle()
        : base(ownsHandle: true)
    {
    }

    protected override bool ReleaseHandle()
    {
        Interop.EvpCipherCtxFree(handle);
        return true;
    }
}
