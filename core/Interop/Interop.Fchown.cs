using System.Runtime.InteropServices;

namespace OverlayKvm.Core.Interop;

internal static partial class Interop
{
    /// <summary>fchown(2): QEMU (running as libvirt-qemu) must be able to open a region the daemon pre-created.</summary>
    [LibraryImport("libc", EntryPoint = "fchown", SetLastError = true)]
    internal static partial int Fchown(SafeFdHandle fd, uint owner, uint group);
}
