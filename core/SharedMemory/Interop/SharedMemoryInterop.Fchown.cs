using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace OverlayKvm.Core.SharedMemory.Interop;

internal static partial class SharedMemoryInterop
{
    /// <summary>fchown(2): QEMU (running as libvirt-qemu) must be able to open a region the daemon pre-created.</summary>
    [LibraryImport("libc", EntryPoint = "fchown", SetLastError = true)]
    internal static partial int Fchown(SafeFileHandle fd, uint owner, uint group);
}
