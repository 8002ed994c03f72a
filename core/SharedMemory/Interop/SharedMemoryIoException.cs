using System.Runtime.InteropServices;

namespace OverlayKvm.Core.SharedMemory.Interop;

/// <summary>A failed system call on a shared-memory region; carries errno, the operation and the path.</summary>
public sealed class SharedMemoryIoException(int errno, string operation, string path)
    : IOException($"{operation} '{path}' failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})")
{
    public int Errno { get; } = errno;
    public string Operation { get; } = operation;
    public string RegionPath { get; } = path;
}

/// <summary>The one place where errno becomes an exception (control path only; the ring never throws).</summary>
internal static class SharedMemoryErrors
{
    internal static Exception FromLastError(string operation, string path)
    {
        int errno = Marshal.GetLastPInvokeError();
        return errno switch
        {
            SharedMemoryInterop.ENOENT => new FileNotFoundException($"{operation} '{path}': no such file", path),
            SharedMemoryInterop.EACCES or SharedMemoryInterop.EPERM =>
                new UnauthorizedAccessException($"{operation} '{path}': permission denied (errno {errno})"),
            _ => new SharedMemoryIoException(errno, operation, path),
        };
    }
}
