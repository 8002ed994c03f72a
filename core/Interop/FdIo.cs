namespace OverlayKvm.Core.Interop;

/// <summary>
/// Hot-path reads and writes on a descriptor (TUN): they return the byte count or -1 with the errno, never throw,
/// and retry EINTR here so callers see only real outcomes. EAGAIN is a result, not an error.
/// </summary>
internal static class FdIo
{
    public static unsafe int Read(SafeFdHandle fd, Span<byte> buffer, out Errno errno)
    {
        // SAFETY: the span is pinned by `fixed` for the duration of the call and its length bounds the read.
        fixed (byte* p = buffer)
        {
            int result;
            while (!Done(Interop.Read(fd, p, (nuint)buffer.Length), out result, out errno))
            {
            }
            return result;
        }
    }

    public static unsafe int Write(SafeFdHandle fd, ReadOnlySpan<byte> buffer, out Errno errno)
    {
        // SAFETY: the span is pinned by `fixed` for the duration of the call and its length bounds the write.
        fixed (byte* p = buffer)
        {
            int result;
            while (!Done(Interop.Write(fd, p, (nuint)buffer.Length), out result, out errno))
            {
            }
            return result;
        }
    }

    /// <summary>
    /// One writev of two pieces (a TUN's virtio-net header and the packet): one record for the device, no copy
    /// to join them. Returns the bytes written or -1 with errno.
    /// </summary>
    public static unsafe int Write(SafeFdHandle fd, ReadOnlySpan<byte> first, ReadOnlySpan<byte> second, out Errno errno)
    {
        // SAFETY: both spans are pinned by `fixed` for the duration of the call and their lengths bound the write.
        fixed (byte* a = first)
        fixed (byte* b = second)
        {
            Interop.IoVec* vectors = stackalloc Interop.IoVec[2];
            vectors[0] = new Interop.IoVec { Base = a, Length = (nuint)first.Length };
            vectors[1] = new Interop.IoVec { Base = b, Length = (nuint)second.Length };
            int result;
            while (!Done(Interop.Writev(fd, vectors, 2), out result, out errno))
            {
            }
            return result;
        }
    }

    /// <summary>
    /// After one read/write call: true when it is over (<paramref name="result"/> = bytes, or -1 with
    /// <paramref name="errno"/>), false when EINTR interrupted it and the caller must call again. Read errno at once.
    /// </summary>
    private static bool Done(nint n, out int result, out Errno errno)
    {
        if (n >= 0)
        {
            result = (int)n;
            errno = Errno.None;
            return true;
        }
        result = -1;
        errno = IoCheck.LastErrno;
        return errno != Errno.EINTR;
    }

    /// <summary>Waits until fd can take more data or the timeout passes.</summary>
    public static bool WaitWritable(System.Runtime.InteropServices.SafeHandle fd, int timeoutMilliseconds) => Wait(fd, Interop.POLLOUT, timeoutMilliseconds);

    /// <summary>Waits until fd is readable or the timeout passes. Returns true when readable (or hung up).</summary>
    public static bool WaitReadable(System.Runtime.InteropServices.SafeHandle fd, int timeoutMilliseconds) => Wait(fd, Interop.POLLIN, timeoutMilliseconds);

    private static unsafe bool Wait(System.Runtime.InteropServices.SafeHandle fd, short events, int timeoutMilliseconds)
    {
        bool added = false;
        try
        {
            fd.DangerousAddRef(ref added);
            var pfd = new Interop.PollFd { Fd = (int)fd.DangerousGetHandle(), Events = events };
            // SAFETY: pfd lives on this stack frame for the whole call; count is 1.
            int r = Interop.Poll(&pfd, 1, timeoutMilliseconds);
            if (r < 0)
            {
                Errno e = IoCheck.LastErrno;
                if (e == Errno.EINTR)
                {
                    return false;
                }
                IoCheck.Throw("poll", e);
            }
            return r > 0;
        }
        finally
        {
            if (added)
            {
                fd.DangerousRelease();
            }
        }
    }
}
