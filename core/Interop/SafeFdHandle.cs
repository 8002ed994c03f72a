using Microsoft.Win32.SafeHandles;

namespace OverlayKvm.Core.Interop;

/// <summary>A kernel file descriptor, closed exactly once when released.</summary>
internal sealed class SafeFdHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    public SafeFdHandle()
        : base(ownsHandle: true)
    {
    }

    internal SafeFdHandle(int fd, bool ownsHandle)
        : base(ownsHandle)
    {
        SetHandle(fd);
    }

    /// <summary>fd 0 is a valid descriptor; only -1 means invalid.</summary>
    public override bool IsInvalid => handle == new IntPtr(-1);

    protected override bool ReleaseHandle() => Interop.Close((int)handle) == 0;
}
