using System.Runtime.InteropServices;

namespace OverlayKvm.Core.SharedMemory.Interop;

internal static partial class SharedMemoryInterop
{
    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    internal static partial int Munmap(nint address, nuint length);
}
