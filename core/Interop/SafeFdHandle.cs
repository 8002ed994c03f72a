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
    public static SafeFdHandle Open(string path, int flags, int mode = 0)
    {
        while (true)
        {
            int fd = Interop.Open(path, flags | Interop.O_CLOEXEC, mode);
            if (fd >= 0)
            {
                return new SafeFdHandle(fd, ownsHandle: true);
            }
            Errno errno = IoCheck.LastErrno;
            if (errno != Errno.EINTR)
            {
                IoCheck.Throw($"open {path}", errno);
            }
        }
    }

    /// <summary>fd 0 is a valid descriptor; only -1 means invalid.</summary>
    public override bool IsInvalid => handle == new IntPtr(-1);

    protected override bool ReleaseHandle() => Interop.Close((int)handle) == 0;
}
