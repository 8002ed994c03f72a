using System.Runtime.InteropServices;

namespace OverlayKvm.Core.Interop;

/// <summary>Owns one mmap'd range; munmap runs when the last reference is released (SafeHandle ref counting keeps
/// a range alive while a ring still uses it, even if the mapping object is disposed first).</summary>
internal sealed class SafeMappedMemoryHandle : SafeHandle
{
    internal SafeMappedMemoryHandle(nint address, long length) : base(Interop.MAP_FAILED, ownsHandle: true)
    {
        SetHandle(address);
        Length = length;
    }

    internal long Length { get; }

    public override bool IsInvalid => handle == Interop.MAP_FAILED || handle == 0;

    protected override bool ReleaseHandle() => Interop.Munmap(handle, (nuint)Length) == 0;

    /// <summary>Takes a reference for a long-lived user (a ring endpoint); pair with <see cref="ReleaseLease"/>.</summary>
    internal void AcquireLease()
    {
        bool added = false;
        try
        {
            DangerousAddRef(ref added);
        }
        finally
        {
            if (!added)
            {
                throw new ObjectDisposedException("SharedMemoryMapping", "the shared-memory mapping was already unmapped");
            }
        }
    }

    internal void ReleaseLease() => DangerousRelease();
}
