using System.Runtime.InteropServices;

namespace OverlayKvm.Core.Interop;

internal static partial class Interop
{
    /// <summary>ioctl with a pointer argument (struct ifreq and friends).</summary>
    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    internal static unsafe partial int Ioctl(SafeFdHandle fd, nuint request, void* argument);

    /// <summary>ioctl with an integer argument (TUNSETPERSIST).</summary>
    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    internal static partial int Ioctl(SafeFdHandle fd, nuint request, nint argument);
}
