using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace OverlayKvm.Core.SharedMemory.Interop;

internal static partial class SharedMemoryInterop
{
    [LibraryImport("libc", EntryPoint = "fchmod", SetLastError = true)]
    internal static partial int Fchmod(SafeFileHandle fd, uint mode);
}
