using System.Runtime.InteropServices;

namespace OverlayKvm.Core.SharedMemory.Interop;

internal static partial class SharedMemoryInterop
{
    // Linux values (asm-generic/fcntl.h, mman-common.h). O_NOFOLLOW differs between x86-64 and arm64.
    internal const int O_RDONLY = 0x0;
    internal const int O_RDWR = 0x2;
    internal const int O_CREAT = 0x40;
    internal const int O_EXCL = 0x80;
    internal const int O_CLOEXEC = 0x80000;
    internal static int O_NOFOLLOW => RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm ? 0x8000 : 0x20000;

    internal const int PROT_READ = 0x1;
    internal const int PROT_WRITE = 0x2;
    internal const int MAP_SHARED = 0x1;
    internal static readonly nint MAP_FAILED = -1;


    internal const int EINTR = 4;
    internal const int ENOENT = 2;
    internal const int EACCES = 13;
    internal const int EPERM = 1;
    internal const int EEXIST = 17;
}
