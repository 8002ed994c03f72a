using System.Diagnostics;
using System.Globalization;
using System.Security;
using System.Security.Cryptography;
using OverlayKvm.Integration.Tests.Daemon;
using OverlayKvm.Integration.Tests.E2e;

namespace OverlayKvm.Integration.Tests.Packaging;

/// <summary>
/// A Debian 12 VM with systemd (xml-templates/e2e/debian-domain.xml) booted from <see cref="DebianImage"/>: its root
/// disk a qcow2 overlay on the cached rootfs.img, a second read-only ext4 disk holding <c>packages</c> (mounted by
/// the test at /mnt/pkgs), its console a unix socket driven through <see cref="SerialShell"/>, its agent channel
/// socket where overlayd looks for it. Files live in a private temp directory. Disposing destroys and undefines the
/// domain and removes its files, whether or not the test passed.
/// </summary>
internal sealed class DebianVm : IAsyncDisposable
{
    public const string NamePrefix = "okvdeb-";
    private readonly Action<string> _log;
    private bool _defined;

    private DebianVm(string name, string directory, string agentSocketPath, Action<string> log)
    {
        Name = name;
        Directory = directory;
        AgentSocketPath = agentSocketPath;
        _log = log;
        ConsoleSocket = Path.Combine(directory, "console.sock");
        SerialLog = new SerialLog(Path.Combine(directory, "serial.log"));
    }

    public string Name { get; }
    public string Directory { get; }
    public string AgentSocketPath { get; }
    public string ConsoleSocket { get; }
    public SerialLog SerialLog { get; }
    public SerialShell? Shell { get; private set; }

    /// <summary>Defines (does not start) a VM on <paramref name="network"/> whose package disk holds <paramref name="packages"/>.</summary>
    public static async Task<DebianVm> DefineAsync(DebianImage image, string network, string agentSocketPath,
        IReadOnlyList<string> packages, Action<string> log, int memoryMiB = 512)
    {
        var name = NamePrefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
        var directory = System.IO.Directory.CreateTempSubdirectory(name + ".").FullName;
        // QEMU runs as libvirt-qemu: it binds the console socket here and opens the disks.
        File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        var vm = new DebianVm(name, directory, agentSocketPath, log);
        try
        {
            var rootDisk = Path.Combine(directory, "root.qcow2");
            await CheckAsync("qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", image.Rootfs, rootDisk);
            var packageDisk = Path.Combine(directory, "packages.img");
            var packageDir = System.IO.Directory.CreateDirectory(Path.Combine(directory, "packages")).FullName;
            foreach (var deb in packages) File.Copy(deb, Path.Combine(packageDir, Path.GetFileName(deb)));
            long bytes = packages.Sum(p => new FileInfo(p).Length);
            var sizeMiB = Math.Max(16, bytes / (1 << 20) * 2 + 8);
            await CheckAsync("mke2fs", "-q", "-t", "ext4", "-L", "packages", "-d", packageDir, packageDisk, $"{sizeMiB}M");
            System.IO.Directory.Delete(packageDir, recursive: true);

            var xmlPath = Path.Combine(directory, "domain.xml");
            await File.WriteAllTextAsync(xmlPath, vm.Render(image, network, rootDisk, packageDisk, memoryMiB));
            vm._defined = true; // before the call: a define that times out here may still complete in libvirtd
            await Virsh.RunAsync("define", xmlPath);
            log($"defined {name} (files in {directory})");
            return vm;
        }
        catch
        {
            await vm.DisposeAsync();
            throw;
        }
    }

    private string Render(DebianImage image, string network, string rootDisk, string packageDisk, int memoryMiB)
    {
        var templatePath = RepoPaths.E2eTemplate("debian-domain.xml");
        var template = File.ReadAllText(templatePath);
        // net.ifnames=0: the NIC is eth0. quiet: the console carries the shell, not the boot chatter.
        // no_timer_check: on a busy host the emulated CPU is too slow for the kernel's IO-APIC timer check, which
        // then panics ("IO-APIC + timer doesn't work!", seen here at load average 48).
        const string cmdline = "console=ttyS0 panic=-1 quiet net.ifnames=0 no_timer_check";
        var values = new Dictionary<string, string>
        {
            ["@NAME@"] = Name,
            ["@MEMORY_MIB@"] = memoryMiB.ToString(CultureInfo.InvariantCulture),
            ["@VCPUS@"] = "1",
            ["@KERNEL@"] = image.Kernel,
            ["@INITRD@"] = image.Initrd,
            ["@CMDLINE@"] = cmdline,
            ["@ROOT_DISK@"] = rootDisk,
            ["@PACKAGE_DISK@"] = packageDisk,
            ["@CONSOLE_SOCKET@"] = ConsoleSocket,
            ["@SERIAL_LOG@"] = SerialLog.Path,
            ["@AGENT_SOCKET@"] = AgentSocketPath,
            ["@NETWORK@"] = network,
        };
        foreach (var (key, value) in values)
        {
            if (!template.Contains(key, StringComparison.Ordinal)) throw new InvalidDataException($"{templatePath} has no {key} placeholder");
            template = template.Replace(key, SecurityElement.Escape(value), StringComparison.Ordinal);
        }
        return template;
    }

    /// <summary>'virsh start', then connects to the console; returns how long 'virsh start' took.</summary>
    public async Task<TimeSpan> StartAsync()
    {
        var watch = Stopwatch.StartNew();
        await Virsh.RunAsync("start", Name);
        var took = watch.Elapsed;
        Shell = await SerialShell.ConnectAsync(ConsoleSocket);
        return took;
    }

    /// <summary>The console as the test saw it, else as virtlogd logged it (for failure messages).</summary>
    public string ConsoleText() => Shell?.Transcript is { Length: > 0 } t ? t : SerialLog.ReadAll();

    private static async Task CheckAsync(string file, params string[] args)
    {
        var result = await ProcessResult.RunAsync(file, args, timeout: TimeSpan.FromMinutes(2));
        if (result.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed: {result}");
    }

    public async ValueTask DisposeAsync()
    {
        var failures = new List<Exception>();
        if (Shell is not null) await Shell.DisposeAsync();
        if (_defined)
        {
            await Virsh.DestroyAndUndefineAsync(Name, failures);
            _defined = false;
        }
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException e)
        {
            failures.Add(e);
        }
        _log($"cleaned up {Name}");
        if (failures.Count > 0) throw new AggregateException($"cleanup of Debian VM {Name} failed", failures);
    }
}
