using System.Diagnostics;
using OverlayKvm.Integration.Tests.Daemon;

namespace OverlayKvm.Integration.Tests.Packaging;

/// <summary>
/// A modular libvirt QEMU daemon, <c>virtqemud</c>, started the way <see cref="Libvirt.LibvirtdFixture"/> starts
/// libvirtd: a foreground child in a private mount namespace. It runs beside the host's libvirtd, so it gets its
/// own /run/libvirt (its sockets), /var/lib/libvirt, /var/cache/libvirt and a copy of /etc/libvirt without the
/// host's domains and autostart networks — but the host's real /etc/libvirt/hooks, where the package installs the
/// hook. Its pid file is the standard /run/virtqemud.pid, where the maintainer scripts look.
///
/// Debian 12's libvirt 9.0 ships no virtqemud (only the monolithic libvirtd). Where /usr/sbin/virtqemud is
/// missing, the daemon run is a copy of /usr/sbin/libvirtd named virtqemud: the same QEMU driver and hook code,
/// seen by the maintainer scripts exactly as a virtqemud (process name, pid file). Stopped by PID on dispose.
/// </summary>
internal sealed class ModularQemuDaemon : IDisposable
{
    public const string PidFile = "/run/virtqemud.pid";
    private readonly string _root;
    private readonly Process _process;

    private ModularQemuDaemon(string root, Process process, bool real)
    {
        _root = root;
        _process = process;
        IsRealVirtqemud = real;
    }

    public bool IsRealVirtqemud { get; }

    public int Pid => _process.Id;

    public string Uri => $"qemu+unix:///system?socket={_root}/run/libvirt-sock";

    public static async Task<ModularQemuDaemon> StartAsync()
    {
        if (File.Exists(PidFile) && int.TryParse(File.ReadAllText(PidFile).Trim(), out var other) && Directory.Exists($"/proc/{other}"))
            throw new InvalidOperationException($"a virtqemud already runs (pid {other}, {PidFile}); stop it before this test");
        var root = Directory.CreateDirectory($"/run/pkvq-{Guid.NewGuid():N}"[..17]).FullName;
        try
        {
            foreach (var d in new[] { "run", "lib", "cache" }) Directory.CreateDirectory(Path.Combine(root, d));
            var etc = Path.Combine(root, "etc");
            var copy = await ProcessResult.RunAsync("cp", ["-a", "/etc/libvirt", etc]);
            if (copy.ExitCode != 0) throw new InvalidOperationException($"copying /etc/libvirt: {copy}");
            // Not the host's domains nor its autostart networks: they belong to the host's libvirtd.
            foreach (var xml in Directory.EnumerateFiles(Path.Combine(etc, "qemu"), "*", SearchOption.AllDirectories)) File.Delete(xml);
            Directory.CreateDirectory(Path.Combine(etc, "hooks"));
            File.AppendAllText(Path.Combine(etc, "qemu.conf"), "\n# overlaykvm packaging tests: see ModularQemuDaemon\nnamespaces = [ ]\n");
            var fakeKvm = Path.Combine(root, "kvm");
            File.WriteAllBytes(fakeKvm, []);

            bool real = File.Exists("/usr/sbin/virtqemud");
            var binary = Path.Combine(root, "virtqemud");
            if (real) binary = "/usr/sbin/virtqemud";
            else File.Copy("/usr/sbin/libvirtd", binary);
            File.SetUnixFileMode(binary, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

            // The host's hooks directory inside the copy (rbind carries it), then the copy over /etc/libvirt.
            // /dev/kvm masked as LibvirtdFixture does (TCG only; a root-only /dev/kvm makes libvirt 9.0 re-probe).
            var script = "mount --bind /etc/libvirt/hooks \"$0/etc/hooks\" && mount --rbind \"$0/etc\" /etc/libvirt" +
                " && mount --bind \"$0/run\" /run/libvirt && mount --bind \"$0/lib\" /var/lib/libvirt" +
                " && mount --bind \"$0/cache\" /var/cache/libvirt" +
                " && { [ ! -e /dev/kvm ] || mount --bind \"$0/kvm\" /dev/kvm; } && exec \"$1\" -p " + PidFile;
            var psi = new ProcessStartInfo("/usr/bin/unshare") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in new[] { "--mount", "--propagation", "private", "--", "/bin/sh", "-c", script, root, binary }) psi.ArgumentList.Add(a);
            var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start unshare for virtqemud");
            process.OutputDataReceived += (_, _) => { };
            process.ErrorDataReceived += (_, _) => { };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var daemon = new ModularQemuDaemon(root, process, real);
            try
            {
                await daemon.WaitAnswersAsync();
                return daemon;
            }
            catch
            {
                daemon.Dispose();
                throw;
            }
        }
        catch
        {
            if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
            throw;
        }
    }

    public Task<ProcessResult> VirshAsync(params string[] args) =>
        ProcessResult.RunAsync("virsh", ["-c", Uri, .. args], timeout: TimeSpan.FromSeconds(90));

    private async Task WaitAnswersAsync()
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(45);
        ProcessResult? last = null;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited) throw new InvalidOperationException($"virtqemud exited at once with status {_process.ExitCode}");
            last = await VirshAsync("version");
            if (last.ExitCode == 0 && File.Exists(PidFile)) return;
            await Task.Delay(200);
        }
        throw new TimeoutException($"virtqemud did not answer `virsh -c {Uri} version` within 45 s: {last}");
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            Posix.Kill(_process.Id, Posix.SIGTERM);
            if (!_process.WaitForExit(15_000))
            {
                _process.Kill();
                _process.WaitForExit(5_000);
            }
        }
        _process.Dispose();
        if (File.Exists(PidFile) && File.ReadAllText(PidFile).Trim() == _process.Id.ToString()) File.Delete(PidFile);
        // The mounts lived in the daemon's namespace and went with it; what is left are plain files.
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }
}
