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

    /// <summary>Opens path (open(2) with EINTR retried); throws the mapped exception naming path on failure.</summary>
    public static SafeFdHandle Open(string path, int flags, int mode = 0) =>
        TryOpen(path, flags, mode, out Errno errno) ?? throw IoCheck.Create($"open {path}", errno);

    /// <summary>open(2) with EINTR retried; null and the errno when it fails, for callers that branch on it (EEXIST).</summary>
    public static SafeFdHandle? TryOpen(string path, int flags, int mode, out Errno errno)
    {
        while (true)
        {
            int fd = Interop.Open(path, flags | Interop.O_CLOEXEC, mode);
            if (fd >= 0)
            {
                errno = Errno.None;
                return new SafeFdHandle(fd, ownsHandle: true);
            }
            errno = IoCheck.LastErrno;
            if (errno != Errno.EINTR)
            {
                return null;
            }
        }
    }

    /// <summary>fd 0 is a valid descriptor; only -1 means invalid.</summary>
    public override bool IsInvalid => handle == new IntPtr(-1);

    protected override bool ReleaseHandle() => Interop.Close((int)handle) == 0;
}
