using OverlayKvm.Integration.Tests.Daemon;
using OverlayKvm.Integration.Tests.Harness;
using OverlayKvm.Integration.Tests.Libvirt;
using Xunit.Abstractions;

namespace OverlayKvm.Integration.Tests.Packaging;

/// <summary>
/// Issue 13, show 3: installing the host package makes the running libvirt daemon call overlay-hook — the modular
/// virtqemud and the monolithic libvirtd — without restarting it. The proof is the hook's own answer: starting a
/// domain with OverlayKvm metadata naming a group overlayd does not know is refused by overlayd through the hook
/// (a daemon that never read the hook would start the domain). Everything is purged and stopped afterwards.
/// </summary>
[Collection(LibvirtdCollection.Name)]
public sealed class HookReloadTests(LibvirtdFixture libvirtd, ITestOutputHelper output)
{
    [Fact]
    public async Task Install_ModularVirtqemudRunning_VirtqemudCallsTheHook()
    {
        Prerequisites.RequireRootAndTools("dpkg-deb", "virsh", "unshare");
        var (host, _) = await DebPackages.BuildAsync("0.1.0");
        await Dpkg.PurgeIfPresentAsync();
        using var virtqemud = await ModularQemuDaemon.StartAsync();
        output.WriteLine(virtqemud.IsRealVirtqemud
            ? $"virtqemud (pid {virtqemud.Pid}) runs"
            : $"no /usr/sbin/virtqemud in this libvirt: libvirtd runs as virtqemud (pid {virtqemud.Pid}, {ModularQemuDaemon.PidFile})");
        var domain = $"pk-vq-{Guid.NewGuid():N}"[..14];
        try
        {
            var installed = await Dpkg.RunAsync("-i", host);
            output.WriteLine(installed);
            Assert.Contains($"sent SIGHUP to virtqemud (pid {virtqemud.Pid})", installed);
            await AssertHookRefusesAsync(virtqemud.VirshAsync, domain);
        }
        finally
        {
            await virtqemud.VirshAsync("destroy", domain);
            await virtqemud.VirshAsync("undefine", domain);
            await Dpkg.PurgeIfPresentAsync();
        }
    }

    [Fact]
    public async Task Install_MonolithicLibvirtdRunning_LibvirtdCallsTheHook()
    {
        Prerequisites.RequireRootAndTools("dpkg-deb", "virsh");
        var (host, _) = await DebPackages.BuildAsync("0.1.0");
        await Dpkg.PurgeIfPresentAsync();
        var domain = $"pk-ld-{Guid.NewGuid():N}"[..14];
        Task<ProcessResult> Virsh(params string[] args) =>
            ProcessResult.RunAsync("virsh", ["-c", LibvirtdFixture.Uri, .. args], timeout: TimeSpan.FromSeconds(90));
        try
        {
            output.WriteLine(libvirtd.Owned ? "libvirtd started by the test fixture" : "the host's running libvirtd");
            var installed = await Dpkg.RunAsync("-i", host);
            output.WriteLine(installed);
            Assert.Contains("sent SIGHUP to libvirtd", installed);
            await AssertHookRefusesAsync(Virsh, domain);
        }
        finally
        {
            await Virsh("destroy", domain);
            await Virsh("undefine", domain);
            await Dpkg.PurgeIfPresentAsync();
        }
    }

    /// <summary>
    /// Defines the domain and starts it until the hook answers (the daemon handles SIGHUP asynchronously): a start
    /// that succeeds means the hook was not read yet, so the domain is destroyed and started again, for up to 20 s.
    /// </summary>
    private async Task AssertHookRefusesAsync(Func<string[], Task<ProcessResult>> virsh, string domain)
    {
        var xml = Path.Combine(Path.GetTempPath(), domain + ".xml");
        await File.WriteAllTextAsync(xml, $"""
            <domain type='qemu'>
              <name>{domain}</name>
              <memory unit='MiB'>64</memory>
              <vcpu>1</vcpu>
              <metadata>
                <overlay:domain xmlns:overlay='https://overlaykvm.org/xmlns/domain/1'><overlay:member group='pknogroup'/></overlay:domain>
              </metadata>
              <os><type arch='x86_64'>hvm</type></os>
              <on_poweroff>destroy</on_poweroff>
              <devices><emulator>/usr/bin/qemu-system-x86_64</emulator><memballoon model='none'/></devices>
            </domain>
            """);
        try
        {
            var defined = await virsh(["define", xml]);
            Assert.True(defined.ExitCode == 0, $"virsh define: {defined}");
        }
        finally
        {
            File.Delete(xml);
        }
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        ProcessResult start;
        while (true)
        {
            start = await virsh(["start", domain]);
            if (start.ExitCode != 0 || DateTime.UtcNow > deadline) break;
            await virsh(["destroy", domain]);
            await Task.Delay(200);
        }
        output.WriteLine($"virsh start {domain}: {start}");
        Assert.NotEqual(0, start.ExitCode);
        Assert.Contains("overlayd refused prepare", start.Stderr);
        Assert.Contains("pknogroup", start.Stderr);
    }
}
