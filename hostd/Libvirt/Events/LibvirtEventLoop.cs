namespace OverlayKvm.HostDaemon.Libvirt;

/// <summary>
/// libvirt's default event loop, run on one dedicated background thread for the whole process. libvirt allows
/// a single loop implementation per process, registered before the first connection is opened; it carries
/// domain events, keepalives and close notifications of every connection. The thread lives as long as the
/// process (libvirt offers no way to unregister the implementation).
/// </summary>
internal static class LibvirtEventLoop
{
    private static readonly Lock s_gate = new();
    private static Thread? s_thread;
    private static long s_iterations;
    private static long s_failures;

    /// <summary>Loop iterations so far (tests use it to see the loop run).</summary>
    public static long Iterations => Interlocked.Read(ref s_iterations);

    /// <summary>Iterations where virEventRunDefaultImpl reported an error.</summary>
    public static long Failures => Interlocked.Read(ref s_failures);

    public static void EnsureStarted()
    {
        lock (s_gate)
        {
            if (s_thread is not null)
            {
                return;
            }
            LibvirtErrors.SilenceDefaultHandler();
            LibvirtErrors.Check(Interop.Libvirt.EventRegisterDefaultImpl(), "virEventRegisterDefaultImpl", "the process");
            s_thread = new Thread(Run)
            {
                IsBackground = true,
                Name = "libvirt-event-loop",
            };
            s_thread.Start();
        }
    }

    private static void Run()
    {
        while (true)
        {
            if (Interop.Libvirt.EventRunDefaultImpl() < 0)
            {
                // Only a broken poll set makes this fail; back off instead of spinning on a core.
                Interlocked.Increment(ref s_failures);
                Interop.Libvirt.ResetLastError();
                Thread.Sleep(100);
            }
            Interlocked.Increment(ref s_iterations);
        }
    }
}
