using System.Runtime.InteropServices;

namespace OverlayKvm.HostDaemon.Tests.Posix;

/// <summary>
/// Runs one synchronous action with another user's credentials, on a thread of its own that ends afterwards: the
/// raw setresuid/setresgid/setgroups system calls change only the calling thread (glibc's wrappers would change the
/// whole test process). Lets a test be "another local user" — listen on or connect to a unix socket as uid 65534 —
/// without a second program. The action must not start threads or async I/O: they would inherit the credentials.
/// </summary>
internal static partial class AsOtherUser
{
    public const uint Nobody = 65534;

    // x86-64 system call numbers (arch/x86/entry/syscalls/syscall_64.tbl).
    private const long SysSetgroups = 116;
    private const long SysSetresuid = 117;
    private const long SysSetresgid = 119;

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall(long number, long a, long b, long c);

    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint GetEuid();

    public static void Run(uint uid, Action action)
    {
        if (RuntimeInformation.ProcessArchitecture != Architecture.X64)
            throw new PlatformNotSupportedException($"AsOtherUser uses x86-64 system call numbers; this is {RuntimeInformation.ProcessArchitecture}");
        if (GetEuid() != 0)
            throw new InvalidOperationException("this test needs root (it acts as another uid on one thread): run the tests as root");
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                Check(Syscall(SysSetgroups, 0, 0, 0), "setgroups(0)");
                Check(Syscall(SysSetresgid, -1, uid, -1), $"setresgid(-1, {uid}, -1)");
                Check(Syscall(SysSetresuid, -1, uid, -1), $"setresuid(-1, {uid}, -1)");
                action();
            }
            catch (Exception ex)
            {
                failure = ex; // re-thrown on the caller's thread below
            }
        });
        thread.Start();
        thread.Join();
        if (failure is not null)
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
    }

    private static void Check(long result, string call)
    {
        if (result != 0)
            throw new InvalidOperationException($"{call} failed: errno {Marshal.GetLastPInvokeError()}");
    }
}
