using System.Runtime.InteropServices;

namespace OverlayKvm.Core.Interop;

internal static partial class Interop
{
    // Linux values (asm-generic/fcntl.h). O_NOFOLLOW differs between x86-64 and arm64.
    internal const int O_RDONLY = 0x0;
    internal const int O_RDWR = 0x2;
    internal const int O_CREAT = 0x40;
    internal const int O_EXCL = 0x80;
    internal const int O_NONBLOCK = 0x800;
    internal const int O_CLOEXEC = 0x80000;
    internal static int O_NOFOLLOW => RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm ? 0x8000 : 0x20000;

    /// <summary>
    /// open(2). Returns the C int: declaring it as returning a SafeHandle would read a 64-bit register whose upper
    /// half is not -1 on failure, so -1 would look valid. Use <see cref="SafeFdHandle.Open"/> or <see cref="SafeFdHandle.TryOpen"/>.
    /// </summary>
    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Open(string path, int flags, int mode);
}
