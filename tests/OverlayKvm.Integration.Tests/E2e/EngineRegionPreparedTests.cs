using OverlayKvm.Integration.Tests.Daemon;
using Xunit.Abstractions;

namespace OverlayKvm.Integration.Tests.E2e;

/// <summary>
/// The engine region of a group must exist before the first of its VMs on this host starts (libvirt's ivshmem-plain
/// maps /dev/shm/NAME as it finds it): a real overlayd lays it out as soon as an application of the group is
/// placed on one of this host's domains — no VM, no agent, no registration needed. The VM-level proof (QEMU maps
/// that very file) is TwoVmEnginePathTests.Region_LaidOutByOverlaydBeforeAnyVmStarts_QemuMapsIt.
/// </summary>
public sealed class EngineRegionPreparedTests(ITestOutputHelper output)
{
    [Fact]
    public async Task AppDefinedOnALocalDomain_RegionLaidOutAtOnce_OtherHostsGroupsGetNone()
    {
        Assert.True(OverlayKvm.HostDaemon.Engine.UnixAccounts.TryResolve("libvirt-qemu", out _, out _),
            "prerequisite missing: user libvirt-qemu (scripts/setup.sh installs libvirt-daemon-system)");
        await using var daemon = new DaemonProcess();
        await daemon.StartAsync();
        var ctl = new Overlayctl(daemon.Socket);
        await ctl.OkAsync("group-define", "web", "--cidr", "10.1.0.0/16");
        await ctl.OkAsync("group-define", "db", "--cidr", "10.2.0.0/16");
        await ctl.OkAsync("domain-define", "vm1", "--address", "192.0.2.11");
        await ctl.OkAsync("domain-define", "far1", "--address", "192.0.2.99", "--host", "otherhost");
        string web = Path.Combine(daemon.EngineDir, "overlaykvm-web"), db = Path.Combine(daemon.EngineDir, "overlaykvm-db");
        Assert.False(File.Exists(web), "no application yet: no region");

        await ctl.OkAsync("app-define", "web", "front", "--domain", "vm1", "--address", "10.1.0.1");
        await ctl.OkAsync("app-define", "db", "main", "--domain", "far1", "--address", "10.2.0.1");

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!File.Exists(web) && DateTime.UtcNow < deadline) await Task.Delay(50);
        var stat = await ProcessResult.RunAsync("stat", ["-c", "%U %a %s", web]);
        output.WriteLine($"{web}: {stat.Stdout.Trim()}");
        Assert.Equal("libvirt-qemu 600 16777216", stat.Stdout.Trim());
        Assert.Equal("OKVMENG\0", System.Text.Encoding.ASCII.GetString(File.ReadAllBytes(web).AsSpan(0, 8)));
        // db's only application runs on another host: its region is that host's business.
        Assert.False(File.Exists(db), "group db has no application on this host, yet its region was created");
        var engine = await ctl.JsonAsync("engine-stat");
        Assert.Equal(0, engine.GetProperty("counters").GetProperty("registrations").GetInt64());
    }
}
