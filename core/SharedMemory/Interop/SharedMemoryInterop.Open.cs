using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace OverlayKvm.Core.SharedMemory.Interop;

internal static partial class SharedMemoryInterop
{
    /// <summary>open(2). Our own import rather than File.OpenHandle: .NET adds an advisory flock and fstat checks
    /// that sysfs PCI resource files (the guest's ivshmem BAR2) do not need, and we want O_NOFOLLOW in /dev/shm.</summary>
    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial SafeFileHandle Open(string path, int flags, int mode);
}
