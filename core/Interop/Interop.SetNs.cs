using System.Runtime.InteropServices;

namespace OverlayKvm.Core.Interop;

internal static partial class Interop
{
    internal const int CLONE_NEWNET = 0x40000000;

    /// <summary>Moves the calling thread into the namespace behind fd (used by tests to open sockets inside a netns).</summary>
    [LibraryImport("libc", EntryPoint = "setns", SetLastError = true)]
    internal static partial int SetNs(SafeFdHandle fd, int nsType);
}
