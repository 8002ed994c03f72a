using System.Runtime.InteropServices;

namespace OverlayKvm.Core.Interop;

/// <summary>A failed system call: carries the errno and the operation (with its subject) that failed.</summary>
internal sealed class ErrnoException : IOException
{
    public ErrnoException(string operation, Errno errno)
        : base($"{operation} failed: {errno} ({(int)errno}): {Marshal.GetPInvokeErrorMessage((int)errno)}", (int)errno)
    {
        Operation = operation;
        Errno = errno;
    }

    public string Operation { get; }

    public Errno Errno { get; }
}
