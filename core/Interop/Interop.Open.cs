using System.Runtime.InteropServices;

namespace OverlayKvm.Core.Interop;

internal static partial class Interop
{
    internal const int O_RDWR = 0x2;
    internal const int O_NONBLOCK = 0x800;
    internal const int O_CLOEXEC = 0x80000;

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial SafeFdHandle Open(string path, int flags, int mode);
}
