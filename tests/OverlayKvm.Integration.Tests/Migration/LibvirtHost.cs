using System.Diagnostics;
using OverlayKvm.Integration.Tests.Daemon;
using OverlayKvm.Integration.Tests.Harness;

namespace OverlayKvm.Integration.Tests.Migration;

/// <summary>
/// One "host" of libvirt on this machine (issue 11/15 test topology, ../ENVIRONMENT recipe): a libvirtd and its
/// virtlogd in their own mount namespace, where /etc/libvirt, /run/libvirt, /var/lib/libvirt and /var/cache/libvirt
/// are this host's folders and /dev/shm is a private tmpfs. Its config is the system's top-level files plus the
/// nwfilters, with a random <c>host_uuid</c> (live migration refuses two hosts with one UUID), no hooks, no
/// networks and no domains of the system's. Reached from outside through its socket in its own run folder. Dispose
/// destroys and undefines its domains, then stops exactly the two daemons it started, by PID, and removes the
/// folder; the namespace (and its /dev/shm) goes with the last process in it.
/// </summary>
internal sealed class LibvirtHost : IDisposable
{
    private const string Libvirtd = "/usr/sbin/libvirtd";
    private const string Virtlogd = "/usr/sbin/virtlogd";
    private const string Qemu = "/usr/bin/qemu-system-x86_64";
    private Process? _libvirtd;

    private LibvirtHost(string root)
    {
        Root = root;
        HostUuid = Guid.NewGuid();
    }

    public string Root { get; }

    public Guid HostUuid { get; }

    /// <summary>The URI that reaches this host's libvirtd from the root mount namespace (and from another host's).</summary>
    public string Uri => $"qemu+unix:///system?socket={Root}/run/libvirt-sock";

    /// <summary>
    /// Makes <paramref name="daemon"/> the overlayd of this host, named <paramref name="name"/>: it follows this libvirtd
    /// (lifecycle events on), finds its QEMUs' pid files in this host's run folder (the channel peer check), and for
    /// domain-migrate and rebalance knows the <paramref name="peer"/> host's libvirt, with migration streams over
    /// loopback both ways (a rebalance on one host may move the other host's domain here).
    /// </summary>
    public void Host(DaemonProcess daemon, string name, (string Name, LibvirtHost Libvirt) peer)
    {
        daemon.Environment["OVERLAYKVM_LIBVIRT__EVENTSERVICEENABLED"] = "true";
        daemon.Environment["OVERLAYKVM_LIBVIRT__URI"] = Uri;
        daemon.Environment["OVERLAYKVM_OVERLAYD__QEMUPIDDIR"] = Path.Combine(Root, "run", "qemu");
        daemon.Environment[$"OVERLAYKVM_LIBVIRT__PEERURIS__{peer.Name}"] = peer.Libvirt.Uri;
        daemon.Environment[$"OVERLAYKVM_LIBVIRT__MIGRATIONURIS__{peer.Name}"] = "tcp:127.0.0.1";
        daemon.Environment[$"OVERLAYKVM_LIBVIRT__MIGRATIONURIS__{name}"] = "tcp:127.0.0.1";
    }

    /// <summary>The libvirtd's PID: a process of this host's mount namespace (to look at its /dev/shm, for instance).</summary>
    public int Pid => _libvirtd?.Id ?? throw new InvalidOperationException("not started");

    public static LibvirtHost Start(string role)
    {
        Prerequisites.RequireRootAndTools("unshare", "virsh");
        foreach (var path in new[] { Libvirtd, Virtlogd, Qemu })
            Assert.True(File.Exists(path), $"prerequisite missing: {path} (scripts/setup.sh installs libvirt-daemon-system, qemu-system-x86)");
        // Short: the socket path must fit a sockaddr_un (108 bytes).
        var root = Directory.CreateDirectory($"/run/okvm-{role}-{Guid.NewGuid().ToString("N")[..6]}").FullName;
        var host = new LibvirtHost(root);
        try
        {
            host.Prepare();
            host.Launch();
            return host;
        }
        catch
        {
            host.Dispose();
            throw;
        }
    }

    private void Prepare()
    {
        foreach (var d in new[] { "etc", "run", "lib", "cache" })
            Directory.CreateDirectory(Path.Combine(Root, d));
        var etc = Path.Combine(Root, "etc");
        foreach (var file in Directory.EnumerateFiles("/etc/libvirt"))
            File.Copy(file, Path.Combine(etc, Path.GetFileName(file)));
        Cmd.Check("cp", "-a", "/etc/libvirt/nwfilter", etc);
        File.AppendAllText(Path.Combine(etc, "libvirtd.conf"), $"\n# overlaykvm test host\nhost_uuid = \"{HostUuid}\"\n");
        // Per-domain /dev namespaces cannot carry the /dev/kvm mask below (LibvirtdFixture explains the mask).
        File.AppendAllText(Path.Combine(etc, "qemu.conf"), "\n# overlaykvm test host\nnamespaces = [ ]\n");
        File.WriteAllBytes(Path.Combine(Root, "kvm"), []);
        File.SetUnixFileMode(Path.Combine(Root, "kvm"), UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    private void Launch()
    {
        var script =
            "mount --bind \"$0/etc\" /etc/libvirt && mount --bind \"$0/run\" /run/libvirt && mount --bind \"$0/lib\" /var/lib/libvirt "
            + "&& mount --bind \"$0/cache\" /var/cache/libvirt && mount -t tmpfs -o mode=1777 tmpfs /dev/shm "
            + "&& { [ ! -e /dev/kvm ] || mount --bind \"$0/kvm\" /dev/kvm; } "
            + $"&& {Virtlogd} -d -p \"$0/virtlogd.pid\" && exec {Libvirtd} -p \"$0/libvirtd.pid\"";
        var psi = new ProcessStartInfo("/usr/bin/unshare") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "--mount", "--propagation", "private", "--", "/bin/sh", "-c", script, Root })
            psi.ArgumentList.Add(a);
        _libvirtd = Process.Start(psi) ?? throw new InvalidOperationException("could not start unshare");
        var log = new System.Text.StringBuilder();
        _libvirtd.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.AppendLine(e.Data); };
        _libvirtd.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.AppendLine(e.Data); };
        _libvirtd.BeginOutputReadLine();
        _libvirtd.BeginErrorReadLine();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        string last = "";
        while (DateTime.UtcNow < deadline)
        {
            if (_libvirtd.HasExited)
                throw new InvalidOperationException($"libvirtd of {Root} exited with {_libvirtd.ExitCode}: {log}");
            var (code, _, err) = Cmd.Run("virsh", "-c", Uri, "version");
            if (code == 0) return;
            last = err;
            Thread.Sleep(200);
        }
        throw new TimeoutException($"libvirtd of {Root} did not answer within 60 s: {last} {log}");
    }

    /// <summary>virsh against this host; a non-zero exit fails with virsh's message.</summary>
    public string Virsh(params string[] args)
    {
        var (code, output, error) = Cmd.Run("virsh", ["-c", Uri, .. args]);
        Assert.True(code == 0, $"virsh -c {Uri} {string.Join(' ', args)} failed ({code}): {error}{output}");
        return output;
    }

    public void Dispose()
    {
        if (_libvirtd is { HasExited: false })
        {
            foreach (var name in Cmd.Run("virsh", "-c", Uri, "list", "--all", "--name").Out.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                Cmd.Run("virsh", "-c", Uri, "destroy", name);
                Cmd.Run("virsh", "-c", Uri, "undefine", name);
            }
            Stop(_libvirtd.Id);
        }
        _libvirtd?.Dispose();
        if (File.Exists(Path.Combine(Root, "virtlogd.pid")) && int.TryParse(File.ReadAllText(Path.Combine(Root, "virtlogd.pid")).Trim(), out int virtlogd))
            Stop(virtlogd);
        Directory.Delete(Root, recursive: true);
    }

    private static void Stop(int pid)
    {
        Posix.Kill(pid, Posix.SIGTERM);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (Directory.Exists($"/proc/{pid}") && !File.ReadAllText($"/proc/{pid}/stat").Split(' ')[2].Equals("Z", StringComparison.Ordinal))
        {
            if (DateTime.UtcNow > deadline)
            {
                Posix.Kill(pid, Posix.SIGKILL);
                break;
            }
            Thread.Sleep(50);
        }
    }
}
