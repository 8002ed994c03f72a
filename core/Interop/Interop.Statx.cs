using System.Runtime.InteropServices;

namespace OverlayKvm.Core.Interop;

internal static partial class Interop
{
    internal const int AT_EMPTY_PATH = 0x1000;
    internal const uint STATX_BASIC_STATS = 0x7ff;
    internal const ushort S_IFMT = 0xF000;
    internal const ushort S_IFREG = 0x8000;

    /// <summary>
    /// struct statx (linux/stat.h): one layout on every architecture, unlike struct stat, so the owner of an
    /// open region file can be read without per-architecture offsets. Only the leading fields are named.
    /// </summary>
    [StructLayout(LayoutKind.Explicit, Size = 256)]
    internal struct Statx
    {
        [FieldOffset(20)] internal uint Uid;
        [FieldOffset(24)] internal uint Gid;
        [FieldOffset(28)] internal ushort Mode;
        [FieldOffset(40)] internal ulong Size;
    }

    /// <summary>statx(2) on an open descriptor (empty path + AT_EMPTY_PATH): fstat with a fixed layout.</summary>
    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int FStatx(SafeFdHandle fd, string path, int flags, uint mask, out Statx buffer);

    [LibraryImport("libc", EntryPoint = "geteuid")]
    internal static partial uint Geteuid();
}
