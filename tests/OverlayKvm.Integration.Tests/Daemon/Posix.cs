using System.Runtime.InteropServices;

namespace OverlayKvm.Integration.Tests.Daemon;

internal static partial class Posix
{
    public const int SIGKILL = 9;
    public const int SIGTERM = 15;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int KillNative(int pid, int signal);

    public static void Kill(int pid, int signal)
    {
        if (KillNative(pid, signal) != 0)
            throw new InvalidOperationException($"kill({pid}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
    }
}
