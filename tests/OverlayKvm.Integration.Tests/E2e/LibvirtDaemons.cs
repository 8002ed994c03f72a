using OverlayKvm.Integration.Tests.Daemon;

namespace OverlayKvm.Integration.Tests.E2e;

/// <summary>
/// Makes the system libvirtd usable for a test run: installs libvirt/QEMU from Debian if absent, starts
/// virtlogd then libvirtd (libvirtd without virtlogd cannot start domains; there is no systemd to do it) when
/// they are not running, and on dispose stops — by PID — only the daemons it started itself.
/// </summary>
internal sealed class LibvirtDaemons : IAsyncDisposable
{
    private static readonly string[] Packages = ["libvirt-daemon-system", "libvirt-clients", "qemu-system-x86", "libvirt0"];
    private static readonly SemaphoreSlim ReviveLock = new(1, 1);
    private static LibvirtDaemons? _active;
    private readonly List<(string Name, int Pid)> _started = new();
    private readonly Action<string> _log;

    private LibvirtDaemons(Action<string> log) => _log = log;

    public IReadOnlyList<(string Name, int Pid)> Started => _started;

    public static async Task<LibvirtDaemons> EnsureAsync(Action<string> log)
    {
        var daemons = new LibvirtDaemons(log);
        try
        {
            await daemons.InstallIfMissingAsync();
            _active = daemons;
            if (await AnswersAsync())
            {
                log("libvirtd already answers on " + Virsh.Uri);
                return daemons;
            }
            await daemons.StartMissingAsync();
            return daemons;
        }
        catch
        {
            await daemons.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Called when virsh could not connect: waits a few seconds for whoever is restarting libvirtd, then starts
    /// the missing daemons itself (they are then stopped with the others this harness started).
    /// </summary>
    public static async Task ReviveAsync()
    {
        await ReviveLock.WaitAsync();
        try
        {
            for (var i = 0; i < 20; i++)
            {
                if (await AnswersAsync()) return;
                await Task.Delay(250);
            }
            var daemons = _active ?? throw new InvalidOperationException($"libvirtd does not answer on {Virsh.Uri} and no E2E fixture is active to start it");
            daemons._log("libvirtd went away during the run (another suite stopped it?): starting it again");
            await daemons.StartMissingAsync();
        }
        finally
        {
            ReviveLock.Release();
        }
    }

    private async Task StartMissingAsync()
    {
        if (FindProcess("virtlogd") is null) await StartAsync("virtlogd", "/run/virtlogd.pid");
        if (FindProcess("libvirtd") is null) await StartAsync("libvirtd", "/run/libvirtd.pid");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(45);
        while (!await AnswersAsync())
        {
            if (DateTime.UtcNow > deadline)
                throw new InvalidOperationException($"libvirtd did not answer 'virsh -c {Virsh.Uri} list' within 45 s (libvirtd pid {FindProcess("libvirtd")?.ToString() ?? "none"}, virtlogd pid {FindProcess("virtlogd")?.ToString() ?? "none"})");
            await Task.Delay(250);
        }
    }

    private async Task InstallIfMissingAsync()
    {
        if (File.Exists("/usr/sbin/libvirtd") && File.Exists("/usr/sbin/virtlogd") && File.Exists("/usr/bin/virsh")
            && File.Exists("/usr/bin/qemu-system-x86_64"))
            return;
        _log("installing " + string.Join(' ', Packages));
        var install = await ProcessResult.RunAsync("apt-get", ["install", "-y", "--no-install-recommends", .. Packages], timeout: TimeSpan.FromMinutes(5));
        if (install.ExitCode != 0)
        {
            // A fresh machine may have empty package lists.
            var update = await ProcessResult.RunAsync("apt-get", ["update"], timeout: TimeSpan.FromMinutes(5));
            if (update.ExitCode != 0)
                throw new InvalidOperationException($"libvirt/QEMU are not installed and apt-get update failed: {update}");
            install = await ProcessResult.RunAsync("apt-get", ["install", "-y", "--no-install-recommends", .. Packages], timeout: TimeSpan.FromMinutes(5));
        }
        if (install.ExitCode != 0)
            throw new InvalidOperationException($"libvirt/QEMU are not installed and apt-get install {string.Join(' ', Packages)} failed: {install}");
    }

    private static async Task<bool> AnswersAsync()
    {
        // Straight to virsh, not through Virsh.TryRunAsync, which would come back here to revive.
        var result = await ProcessResult.RunAsync("virsh", ["-c", Virsh.Uri, "list"], timeout: TimeSpan.FromSeconds(20));
        return result.ExitCode == 0;
    }

    private async Task StartAsync(string daemon, string pidFile)
    {
        var result = await ProcessResult.RunAsync(daemon, ["-d"], timeout: TimeSpan.FromSeconds(30));
        if (result.ExitCode != 0)
            throw new InvalidOperationException($"'{daemon} -d' failed: {result}");
        // -d forks: the daemon's PID is the one it writes to its pid file (or, failing that, found in /proc).
        int? pid = null;
        for (var i = 0; i < 40 && pid is null; i++)
        {
            if (File.Exists(pidFile) && int.TryParse(File.ReadAllText(pidFile).Trim(), out var p) && IsRunning(p, daemon)) pid = p;
            else pid = FindProcess(daemon);
            if (pid is null) await Task.Delay(100);
        }
        if (pid is null)
            throw new InvalidOperationException($"'{daemon} -d' exited 0 but no {daemon} process is running");
        _started.Add((daemon, pid.Value));
        _log($"started {daemon} (pid {pid})");
    }

    /// <summary>The PID of a running process whose command name is <paramref name="name"/>, or null.</summary>
    public static int? FindProcess(string name)
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), out var pid) && IsRunning(pid, name))
                return pid;
        }
        return null;
    }

    private static bool IsRunning(int pid, string name)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/comm").Trim() == name
                && !File.ReadAllText($"/proc/{pid}/stat").Contains(") Z ", StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false; // the process exited while we looked
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (ReferenceEquals(_active, this)) _active = null;
        // Reverse order: libvirtd before virtlogd, which libvirtd's domains log through.
        for (var i = _started.Count - 1; i >= 0; i--)
        {
            var (name, pid) = _started[i];
            if (!IsRunning(pid, name)) continue;
            Posix.Kill(pid, Posix.SIGTERM);
            for (var w = 0; w < 100 && IsRunning(pid, name); w++) await Task.Delay(100);
            if (IsRunning(pid, name)) Posix.Kill(pid, Posix.SIGKILL);
            _log($"stopped {name} (pid {pid})");
        }
        _started.Clear();
    }
}
