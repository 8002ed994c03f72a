using System.Diagnostics;

namespace OverlayKvm.Integration.Tests.Libvirt;

/// <summary>
/// A real libvirtd for the end-to-end tests. Uses the one that runs, or starts virtlogd and libvirtd in the
/// foreground as child processes (only one libvirtd may run on a host) and stops exactly those, by PID, at the
/// end. Missing prerequisites fail with their name: these tests never pass silently.
/// </summary>
public sealed class LibvirtdFixture : IDisposable
{
    public const string Uri = "qemu:///system";
    private const string Libvirtd = "/usr/sbin/libvirtd";
    private const string Virtlogd = "/usr/sbin/virtlogd";
    private const string Virsh = "/usr/bin/virsh";
    private const string Qemu = "/usr/bin/qemu-system-x86_64";

    private Process? _virtlogd;
    private Process? _libvirtd;
    private string? _maskDirectory;

    public LibvirtdFixture()
    {
        if (Environment.UserName != "root")
        {
            throw new InvalidOperationException($"libvirt end-to-end tests need root (running as '{Environment.UserName}')");
        }
        foreach (string path in new[] { Libvirtd, Virtlogd, Virsh, Qemu })
        {
            if (!File.Exists(path))
            {
                throw new InvalidOperationException($"libvirt end-to-end tests need {path} (scripts/setup.sh installs libvirt-daemon-system, libvirt-clients, qemu-system-x86)");
            }
        }
        if (FindPid("libvirtd") is null)
        {
            StartDaemons();
        }
        WaitForDaemon();
    }

    /// <summary>True when this fixture started libvirtd (and so may restart it).</summary>
    public bool Owned => _libvirtd is not null;

    /// <summary>Stops the libvirtd this fixture started (SIGTERM, then waits), leaving QEMU processes running.</summary>
    public void StopLibvirtd()
    {
        if (_libvirtd is null)
        {
            throw new InvalidOperationException($"libvirtd (pid {FindPid("libvirtd")}) was not started by these tests; refusing to stop someone else's daemon (stop it, then rerun)");
        }
        Terminate(_libvirtd);
        _libvirtd.Dispose();
        _libvirtd = null;
    }

    public void StartLibvirtd()
    {
        _libvirtd = StartLibvirtdProcess();
        WaitForDaemon();
    }

    /// <summary>
    /// On hosts where /dev/kvm is root-only (this machine kind), libvirt 9.0 lets its capability-probe QEMU
    /// open it (CAP_DAC_OVERRIDE) but then judges KVM unusable for the qemu user, declares its capability cache
    /// stale on every lookup and re-probes QEMU on nearly every call (seconds each, serialized). Our domains
    /// are TCG (type='qemu'), so the daemon we start gets a private mount namespace where /dev/kvm is an empty
    /// root-only file (the probe sees no KVM: consistent, the cache holds) and qemu.conf disables per-domain
    /// /dev namespaces (which cannot carry a file mount on /dev). Nothing changes outside that namespace.
    /// </summary>
    private Process StartLibvirtdProcess()
    {
        if (!KvmIsRootOnly())
        {
            return StartForeground(Libvirtd, "libvirtd");
        }
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("libvirt end-to-end tests run on Linux only");
        }
        _maskDirectory ??= Directory.CreateDirectory($"/run/overlaykvm-test-{Guid.NewGuid():N}"[..32]).FullName;
        string fakeKvm = Path.Combine(_maskDirectory, "kvm");
        string qemuConf = Path.Combine(_maskDirectory, "qemu.conf");
        File.WriteAllBytes(fakeKvm, []);
        File.SetUnixFileMode(fakeKvm, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.WriteAllText(qemuConf, File.ReadAllText("/etc/libvirt/qemu.conf") + "\n# overlaykvm tests: see LibvirtdFixture\nnamespaces = [ ]\n");
        File.SetUnixFileMode(qemuConf, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return StartForeground("/usr/bin/unshare", "libvirtd",
            "--mount", "--propagation", "private", "--", "/bin/sh", "-c",
            "mount --bind \"$0\" /dev/kvm && mount --bind \"$1\" /etc/libvirt/qemu.conf && exec " + Libvirtd,
            fakeKvm, qemuConf);
    }

    private static bool KvmIsRootOnly()
    {
        if (!OperatingSystem.IsLinux() || !File.Exists("/dev/kvm"))
        {
            return false;
        }
        const UnixFileMode groupOrOther = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite;
        return (File.GetUnixFileMode("/dev/kvm") & groupOrOther) == 0;
    }

    /// <summary>SIGHUP: libvirtd rereads its hook directories.</summary>
    public void ReloadHooks()
    {
        int pid = FindPid("libvirtd") ?? throw new InvalidOperationException("libvirtd is not running");
        using var kill = Process.Start("kill", ["-HUP", pid.ToString()])!;
        kill.WaitForExit();
        // libvirtd handles SIGHUP asynchronously; give it a moment and check it still answers.
        Thread.Sleep(500);
        WaitForDaemon();
    }

    public static (int ExitCode, string Stdout, string Stderr) RunVirsh(params string[] args)
    {
        var psi = new ProcessStartInfo(Virsh) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(Uri);
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(180_000))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"virsh {string.Join(' ', args)} did not finish in 180 s");
        }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    public void Dispose()
    {
        if (_libvirtd is not null)
        {
            Terminate(_libvirtd);
            _libvirtd.Dispose();
        }
        if (_virtlogd is not null)
        {
            Terminate(_virtlogd);
            _virtlogd.Dispose();
        }
        if (_maskDirectory is not null)
        {
            Directory.Delete(_maskDirectory, recursive: true);
        }
    }

    private void StartDaemons()
    {
        if (FindPid("virtlogd") is null)
        {
            _virtlogd = StartForeground(Virtlogd, "virtlogd");
        }
        _libvirtd = StartLibvirtdProcess();
    }

    private static Process StartForeground(string path, string name, params string[] args)
    {
        var psi = new ProcessStartInfo(path) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {path}");
        // Drain its output so it never blocks on a full pipe.
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        Thread.Sleep(200);
        if (p.HasExited)
        {
            throw new InvalidOperationException($"{name} exited at once with status {p.ExitCode}");
        }
        return p;
    }

    private static void Terminate(Process p)
    {
        if (p.HasExited)
        {
            return;
        }
        using (var kill = Process.Start("kill", ["-TERM", p.Id.ToString()])!)
        {
            kill.WaitForExit();
        }
        if (!p.WaitForExit(15_000))
        {
            p.Kill();
            p.WaitForExit(5_000);
        }
    }

    private static void WaitForDaemon()
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        string last = "";
        while (DateTime.UtcNow < deadline)
        {
            var (rc, _, err) = RunVirsh("version");
            if (rc == 0)
            {
                return;
            }
            last = err;
            Thread.Sleep(200);
        }
        throw new TimeoutException($"libvirtd did not answer `virsh -c {Uri} version` within 30 s: {last}");
    }

    internal static int? FindPid(string processName)
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid))
            {
                continue;
            }
            try
            {
                string comm = File.ReadAllText(Path.Combine(dir, "comm")).Trim();
                string state = File.ReadAllText(Path.Combine(dir, "stat")).Split(' ')[2];
                if (comm == processName && state != "Z")
                {
                    return pid;
                }
            }
            catch (IOException)
            {
                // The process went away while we looked.
            }
        }
        return null;
    }
}

/// <summary>All tests that talk to the host's libvirtd run one at a time, sharing the daemon.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LibvirtdCollection : ICollectionFixture<LibvirtdFixture>
{
    public const string Name = "libvirtd";
}
