using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace OverlayKvm.Core.SharedMemory.Interop;

internal static partial class SharedMemoryInterop
{
    /// <summary>lseek(2): used with SEEK_END to learn the size of a region file (works for /dev/shm and sysfs resource files).</summary>
    [LibraryImport("libc", EntryPoint = "lseek", SetLastError = true)]
    internal static partial long Lseek(SafeFileHandle fd, long offset, int whence);
}
