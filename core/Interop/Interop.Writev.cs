using System.Runtime.InteropServices;

namespace OverlayKvm.Core.Interop;

internal static partial class Interop
{
    /// <summary>writev(2) with <see cref="IoVec"/> (declared with sendmmsg's structures).</summary>
    [LibraryImport("libc", EntryPoint = "writev", SetLastError = true)]
    internal static unsafe partial nint Writev(SafeFdHandle fd, IoVec* vectors, int count);
}
