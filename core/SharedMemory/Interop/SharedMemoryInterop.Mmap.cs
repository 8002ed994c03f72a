using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace OverlayKvm.Core.SharedMemory.Interop;

internal static partial class SharedMemoryInterop
{
    /// <summary>mmap(2); returns MAP_FAILED (-1) on error with errno set.</summary>
    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    internal static partial nint Mmap(nint address, nuint length, int protection, int flags, SafeFileHandle fd, long offset);
}
