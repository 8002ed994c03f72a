using System.Diagnostics;
using OverlayKvm.Integration.Tests.Daemon;
using OverlayKvm.Integration.Tests.Harness;
using OverlayKvm.Integration.Tests.Libvirt;
using Xunit.Abstractions;

namespace OverlayKvm.Integration.Tests.Packaging;

/// <summary>
/// Issue 13, show 1: packaging/deb/build.sh builds both packages, lintian reports no error, dpkg -i installs them
/// on this host (no systemd as PID 1: postinst starts overlayd itself and says so), dpkg -r keeps the store and
/// the configuration, dpkg -P leaves nothing of what dpkg -L listed nor of what the scripts created. The machine
/// is purged of both packages afterwards, also on failure. In the libvirtd collection: installing reloads the
/// host's libvirt daemons, and no two packaging tests may install at once.
/// </summary>
[Collection(LibvirtdCollection.Name)]
public sealed class PackageInstallTests(ITestOutputHelper output)
{
    /// <summary>What the maintainer scripts create beside the packaged files; purge must remove them all.</summary>
    private static readonly string[] ScriptCreated =
    [
        "/var/lib/overlaykvm", "/run/overlaykvm", "/var/log/overlaykvm", "/etc/overlaykvm",
        "/etc/systemd/system/multi-user.target.wants/overlayd.service", "/etc/systemd/system/overlayd.service",
        "/var/lib/systemd/deb-systemd-helper-enabled/overlayd.service.dsh-also",
        "/var/lib/systemd/deb-systemd-helper-masked/overlayd.service",
        "/var/lib/overlay-agent", "/etc/overlay-agent",
    ];

    [Fact]
    public async Task Build_BothPackages_LintianReportsNoError()
    {
        Prerequisites.RequireRootAndTools("dpkg-deb", "lintian");
        var (host, guest) = await DebPackages.BuildAsync("0.1.0");
        foreach (var deb in new[] { host, guest })
        {
            output.WriteLine($"{Path.GetFileName(deb)}: {new FileInfo(deb).Length / 1024} KiB, installed {await FieldAsync(deb, "Installed-Size")} KiB");
            var lint = await ProcessResult.RunAsync("lintian", ["--no-cfg", "--tag-display-limit", "0", deb], timeout: TimeSpan.FromMinutes(5));
            output.WriteLine(lint.Stdout + lint.Stderr);
            var errors = lint.Stdout.Split('\n').Where(l => l.StartsWith("E: ", StringComparison.Ordinal)).ToList();
            Assert.True(errors.Count == 0, $"lintian errors for {Path.GetFileName(deb)}:\n{string.Join('\n', errors)}");
            Assert.True(lint.ExitCode is 0 or 2, $"lintian did not run: {lint}"); // 2: warnings only (our overrides aside)
        }
    }

    [Fact]
    public async Task InstallRemovePurge_NoSystemd_StartsOverlaydAndLeavesNothingBehind()
    {
        Prerequisites.RequireRootAndTools("dpkg-deb", "start-stop-daemon");
        var (host, guest) = await DebPackages.BuildAsync("0.1.0");
        await Dpkg.PurgeIfPresentAsync();
        Assert.False(Directory.Exists("/run/systemd/system"), "this test covers hosts without systemd as PID 1; this one runs systemd");
        try
        {
            var installed = await Dpkg.RunAsync("-i", host, guest);
            output.WriteLine(installed);
            Assert.Contains("systemd is not running here: started overlayd", installed);
            var listed = (await Dpkg.ListAsync(DebPackages.Host)).Concat(await Dpkg.ListAsync(DebPackages.Guest)).ToList();

            // Installed: the binaries run, the hook is where libvirt looks, overlayd answers and keeps a store.
            Assert.True(File.Exists("/usr/lib/overlaykvm/overlay-hook") && IsExecutable("/etc/libvirt/hooks/qemu.d/overlaykvm"),
                "the qemu hook is not an executable under /etc/libvirt/hooks/qemu.d/");
            Assert.True(Directory.Exists("/etc/overlay-agent/apps.d"), "/etc/overlay-agent/apps.d/ was not installed");
            var agent = await ProcessResult.RunAsync("/usr/bin/overlay-agent", ["--help"]);
            Assert.True(agent.ExitCode == 0 && agent.Stdout.Contains("overlay-agent serve", StringComparison.Ordinal), $"packaged overlay-agent: {agent}");
            var pid = InstalledOverlayd.Pid() ?? throw new InvalidOperationException($"no overlayd runs under {InstalledOverlayd.PidFile} after dpkg -i");
            var defined = await ProcessResult.RunAsync(InstalledOverlayd.Overlayctl, ["group-define", "pkweb", "--cidr", "10.77.0.0/16"]);
            Assert.True(defined.ExitCode == 0, $"the packaged overlayctl against the packaged overlayd: {defined}");
            Assert.True(File.Exists("/etc/overlaykvm/overlayd.json"), "the conffile is missing");
            Assert.NotEmpty(Directory.GetFiles("/var/lib/overlaykvm"));

            // Remove: overlayd stopped, programs gone, the store and the configuration kept.
            output.WriteLine(await Dpkg.RunAsync("-r", DebPackages.Host, DebPackages.Guest));
            Assert.False(InstalledOverlayd.Running(pid), $"overlayd (pid {pid}) still runs after dpkg -r");
            foreach (var gone in new[] { "/usr/bin/overlayctl", "/usr/lib/overlaykvm/overlayd", "/usr/bin/overlay-agent", "/etc/libvirt/hooks/qemu.d/overlaykvm" })
                Assert.False(File.Exists(gone) || new FileInfo(gone).LinkTarget is not null, $"{gone} is still there after dpkg -r");
            Assert.NotEmpty(Directory.GetFiles("/var/lib/overlaykvm"));
            Assert.True(File.Exists("/etc/overlaykvm/overlayd.json"), "dpkg -r removed the conffile");

            // Purge: nothing of ours, neither what dpkg listed nor what the scripts made.
            output.WriteLine(await Dpkg.RunAsync("-P", DebPackages.Host, DebPackages.Guest));
            var left = ScriptCreated.Where(Exists).ToList();
            foreach (var path in listed.Where(Exists))
            {
                // A listed directory that still holds files is shared (/usr/bin, /usr/lib/systemd/system-generators):
                // dpkg keeps it, rightly; our files in it are checked one by one. An empty one must be gone.
                if (Directory.Exists(path) && Directory.EnumerateFileSystemEntries(path).Any()) continue;
                if (Directory.Exists(path) && (await ProcessResult.RunAsync("dpkg-query", ["-S", path])).ExitCode == 0) continue;
                left.Add(path);
            }
            Assert.True(left.Count == 0, "left behind after dpkg -P:\n" + string.Join('\n', left));
        }
        finally
        {
            await Dpkg.PurgeIfPresentAsync();
        }
    }

    [Fact]
    public async Task Overlayctl_Packaged_StartsNoSlowerThanVirsh()
    {
        Prerequisites.RequireRootAndTools("dpkg-deb", "virsh");
        var (host, _) = await DebPackages.BuildAsync("0.1.0");
        await Dpkg.PurgeIfPresentAsync();
        try
        {
            await Dpkg.RunAsync("-i", host);
            await ProcessResult.RunAsync(InstalledOverlayd.Overlayctl, ["group-list"]); // warm the page cache, like virsh below
            await ProcessResult.RunAsync("virsh", ["-c", "test:///default", "list"]);
            var ctl = new List<double>();
            var virsh = new List<double>();
            for (var i = 0; i < 9; i++)
            {
                ctl.Add(await WallAsync(InstalledOverlayd.Overlayctl, "group-list"));
                virsh.Add(await WallAsync("virsh", "-c", "test:///default", "list"));
            }
            double Median(List<double> xs) => xs.Order().ElementAt(xs.Count / 2);
            output.WriteLine($"whole process, median of 9, same run: overlayctl group-list {Median(ctl):F1} ms, virsh -c test:///default list {Median(virsh):F1} ms");
            Assert.True(Median(ctl) <= Median(virsh), $"overlayctl {Median(ctl):F1} ms > virsh {Median(virsh):F1} ms");
        }
        finally
        {
            await Dpkg.PurgeIfPresentAsync();
        }
    }

    private static async Task<double> WallAsync(string file, params string[] args)
    {
        var watch = Stopwatch.StartNew();
        var result = await ProcessResult.RunAsync(file, args);
        watch.Stop();
        if (result.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)}: {result}");
        return watch.Elapsed.TotalMilliseconds;
    }

    private static async Task<string> FieldAsync(string deb, string field) =>
        (await ProcessResult.RunAsync("dpkg-deb", ["-f", deb, field])).Stdout.Trim();

    private static bool Exists(string path) => File.Exists(path) || Directory.Exists(path) || new FileInfo(path).LinkTarget is not null;

    private static bool IsExecutable(string path) =>
        File.Exists(path) && (File.GetUnixFileMode(path) & UnixFileMode.UserExecute) != 0;
}
