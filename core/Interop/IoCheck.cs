using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace OverlayKvm.Core.Interop;

/// <summary>
/// The one place where errno becomes an exception. ENOENT/EACCES/ECANCELED map to the BCL's own exception types
/// so callers can catch them the usual way; everything else is an <see cref="ErrnoException"/>.
/// </summary>
internal static class IoCheck
{
    public static Errno LastErrno => (Errno)Marshal.GetLastPInvokeError();

    /// <summary>Throws for a negative result of a syscall made with SetLastError = true.</summary>
    public static int Check(int result, string operation)
    {
        if (result < 0)
        {
            Throw(operation, LastErrno);
        }
        return result;
    }

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Throw(string operation, Errno errno) => throw Create(operation, errno);

    public static Exception Create(string operation, Errno errno) => errno switch
    {
        Errno.ENOENT => new FileNotFoundException($"{operation} failed: no such file or device (ENOENT)", new ErrnoException(operation, errno)),
        Errno.EACCES or Errno.EPERM => new UnauthorizedAccessException($"{operation} failed: permission denied ({errno})", new ErrnoException(operation, errno)),
        Errno.ECANCELED => new OperationCanceledException($"{operation} was cancelled (ECANCELED)"),
        _ => new ErrnoException(operation, errno),
    };
}
