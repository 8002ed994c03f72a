namespace OverlayKvm.Core.Interop;

/// <summary>Linux errno values (asm-generic/errno-base.h, errno.h) that OverlayKvm's syscalls can return.</summary>
internal enum Errno
{
    None = 0,
    EPERM = 1,
    ENOENT = 2,
    ESRCH = 3,
    EINTR = 4,
    EIO = 5,
    ENXIO = 6,
    EBADF = 9,
    EAGAIN = 11,
    ENOMEM = 12,
    EACCES = 13,
    EFAULT = 14,
    EBUSY = 16,
    EEXIST = 17,
    ENODEV = 19,
    EINVAL = 22,
    ENFILE = 23,
    EMFILE = 24,
    ENOTTY = 25,
    ENOSPC = 28,
    EPIPE = 32,
    EMSGSIZE = 90,
    ENOBUFS = 105,
    ECANCELED = 125,
}
