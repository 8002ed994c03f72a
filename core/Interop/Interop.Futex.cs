using System.Runtime.InteropServices;

namespace OverlayKvm.Core.Interop;

internal static partial class Interop
{
    // futex(2) has no libc wrapper: it is reached through syscall(2). Only integer arguments are passed, so the
    // variadic call is safe on x86-64 and arm64 (glibc's syscall moves registers; no va_arg of floating values).
    internal static long SYS_futex => RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => 202,
        Architecture.Arm64 => 98,
        _ => -1,
    };

    // Shared (not FUTEX_PRIVATE_FLAG) operations: the word lives in a MAP_SHARED file mapping used by other
    // processes, so the kernel must key the futex on (inode, offset), not on this process's address space.
    internal const int FUTEX_WAIT = 0;
    internal const int FUTEX_WAKE = 1;

    /// <summary>struct timespec (64-bit Linux): a relative timeout for FUTEX_WAIT.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    /// <summary>syscall(SYS_futex, uaddr, op, val, timeout, uaddr2, val3); -1 with errno on failure.</summary>
    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    internal static unsafe partial long Futex(long number, uint* address, int operation, uint value, Timespec* timeout, nint address2, uint value3);
}
