using System.Runtime.InteropServices;

namespace OverlayKvm.Core.Interop;

internal static partial class Interop
{
    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    internal static partial int Close(int fd);
}
