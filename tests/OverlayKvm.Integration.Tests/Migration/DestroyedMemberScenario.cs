using OverlayKvm.Integration.Tests.Harness;

namespace OverlayKvm.Integration.Tests.Migration;

/// <summary>
/// Issue 15, show 3, on real processes: an overlayd that follows a real libvirtd (<see cref="LibvirtHost"/>, its own
/// mount namespace) with its lifecycle events on; two "VMs" as namespaces with real agents (<see cref="TwoNamespaceOverlay"/>):
/// vmA runs app client 10.41.0.1, vmB runs app server 10.41.0.2 (group mgd, sealed path). Domain vmB also exists
/// in that libvirtd as a real TCG domain (firmware only: the guest side of vmB is the namespace agent), so
/// <c>virsh destroy vmB</c> is a real libvirt lifecycle event overlayd must act on.
/// </summary>
internal sealed class DestroyedMemberScenario : TwoNamespaceOverlay
{
    public const string Client = "10.41.0.1";
    public const string Server = "10.41.0.2";
    public const string Group = "mgd";

    private DestroyedMemberScenario()
        : base("okvm-mgd-")
    {
    }

    public LibvirtHost Libvirt { get; private set; } = null!;

    /// <summary>A domain that boots nothing (no disk, no kernel): QEMU runs the firmware and idles, cheap under TCG.</summary>
    public static string FirmwareOnlyDomainXml(string name) => $"""
        <domain type='qemu'>
          <name>{name}</name>
          <memory unit='MiB'>32</memory>
          <vcpu>1</vcpu>
          <os><type arch='x86_64' machine='pc'>hvm</type></os>
          <features><acpi/></features>
          <on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot><on_crash>destroy</on_crash>
          <devices>
            <emulator>/usr/bin/qemu-system-x86_64</emulator>
            <memballoon model='none'/>
          </devices>
        </domain>
        """;

    public static Task<DestroyedMemberScenario> CreateAsync() =>
        BuildAsync(new DestroyedMemberScenario(), async s =>
        {
            s.Libvirt = s.Track(LibvirtHost.Start("mgd"));
            s.StartVmB();
            s.Daemon.Environment["OVERLAYKVM_LIBVIRT__EVENTSERVICEENABLED"] = "true";
            s.Daemon.Environment["OVERLAYKVM_LIBVIRT__URI"] = s.Libvirt.Uri;
            s.Daemon.Environment["OVERLAYKVM_LIBVIRT__AGENTSOCKETDIRECTORY"] = Path.Combine(s.Work, "agent-sockets");
            await s.StartUnderlayAsync("mgda", "mgdb", "10.99.5.1", "10.99.5.2");
            await s.Ctl.OkAsync("group-define", Group, "--cidr", "10.41.0.0/16");
            await s.Ctl.OkAsync("app-define", Group, "client", "--domain", "vmA", "--address", Client);
            await s.Ctl.OkAsync("app-define", Group, "server", "--domain", "vmB", "--address", Server);
            await s.StartAgentsAsync(["--no-engine"]);
            s.StartApp(s.AgentA, "client", Client);
            s.StartApp(s.AgentB, "server", Server);
        });

    /// <summary>Starts vmB in libvirt (transient: <c>virsh create</c>), so a destroy leaves nothing defined.</summary>
    public void StartVmB()
    {
        var xml = Path.Combine(Work, "vmB.xml");
        File.WriteAllText(xml, FirmwareOnlyDomainXml("vmB"));
        Libvirt.Virsh("create", xml);
    }
}
