using System.Net;
using System.Xml.Linq;
using OverlayKvm.Core.Model;
using Microsoft.Extensions.Options;
using OverlayKvm.HostDaemon.Libvirt;
using OverlayKvm.HostDaemon.Placement;
using OverlayKvm.HostDaemon.Tests.Libvirt;
using Xunit.Abstractions;
using OverlayKvm.TestSupport;

namespace OverlayKvm.Integration.Tests.Libvirt;

/// <summary>
/// Issue 5, Shows 2, 3 and 5 (strict mode) with the host's real libvirtd and TCG domains: overlayd's libvirt part
/// runs in this process on a unix socket, the real overlay-hook is installed into /etc/libvirt/hooks/qemu.d/.
/// </summary>
[Collection(LibvirtdCollection.Name)]
public sealed class LibvirtdEndToEndTests(LibvirtdFixture daemon, ITestOutputHelper output) : IAsyncLifetime
{
    // Generous but bounded: libvirt under TCG, shared with other users of the host.
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    private static Task WaitUntil(Func<bool> condition, string what) => Poll.UntilAsync(condition, Wait, what);
    private readonly InMemoryOverlayStore _store = new();
    private readonly E2eScope _scope = new();
    private readonly List<DomainLifecycleEvent> _events = [];
    private LibvirtApiHost? _host;
    private HookInstallation? _hook;

    public async Task InitializeAsync()
    {
        _host = await LibvirtApiHost.StartAsync(_store, new Dictionary<string, string?>
        {
            ["Libvirt:Uri"] = LibvirtdFixture.Uri,
            ["Libvirt:AgentSocketDirectory"] = _scope.AgentSocketDirectory,
            ["Placement:HostName"] = "this-host",
        }, feed => feed.EventObserved += e => { lock (_events) { _events.Add(e); } });
        await WaitUntil(() => _host.Feed.Connections >= 1, "overlayd connected to libvirtd");
        _hook = new HookInstallation(daemon, _host.SocketPath);
        output.WriteLine($"overlayd on {_host.SocketPath}; hook {_hook.FilePath}");
    }

    public async Task DisposeAsync()
    {
        try
        {
            _scope.Dispose();
        }
        finally
        {
            _hook?.Dispose();
            if (_host is not null)
            {
                await _host.DisposeAsync();
            }
        }
    }

    private List<DomainLifecycleEvent> EventsOf(string domain)
    {
        lock (_events)
        {
            return _events.Where(e => e.Domain == domain).ToList();
        }
    }

    private string DefineWithVirsh(string name, string? metadata)
    {
        string file = Path.Combine(_scope.AgentSocketDirectory, name + ".xml");
        File.WriteAllText(file, E2eDomains.Xml(name, metadata));
        var (rc, _, err) = LibvirtdFixture.RunVirsh("define", file);
        Assert.True(rc == 0, $"virsh define {name} failed: {err}");
        return name;
    }

    [Fact]
    public async Task MemberDomain_DefineEquipRedefineStartStopUndefine_EventsInOrderAndHookReachesOverlayd()
    {
        string group = _scope.Group("web");
        _store.DefineGroup(group, IPNetwork.Parse("10.41.0.0/16"), ProtectionLevel.Sealed);
        string name = DefineWithVirsh(_scope.Domain("life"), E2eDomains.Member(group, "frontend"));
        _store.DefineApplication(group, "frontend", null, name, []);
        await WaitUntil(() => EventsOf(name).Count(e => e.Kind == DomainEventKind.Defined) >= 2, "define and overlayd's equip redefinition");

        // Show 3: the persistent definition now has the group's region and the agent channel, once.
        string equipped = LibvirtdFixture.RunVirsh("dumpxml", "--inactive", name).Stdout;
        var devices = XDocument.Parse(equipped).Root!.Element("devices")!;
        Assert.Single(devices.Elements("shmem"), s => (string?)s.Attribute("name") == $"overlaykvm-{group}");
        var channel = Assert.Single(devices.Elements("channel"), c => (string?)c.Element("target")?.Attribute("name") == "org.overlaykvm.agent.0");
        Assert.Equal(Path.Combine(_scope.AgentSocketDirectory, name + ".agent.sock"), (string?)channel.Element("source")!.Attribute("path"));

        // Defining the equipped definition again: one more Defined event, nothing added by overlayd.
        string again = Path.Combine(_scope.AgentSocketDirectory, "again.xml");
        File.WriteAllText(again, equipped);
        var redefine = LibvirtdFixture.RunVirsh("define", again);
        Assert.True(redefine.ExitCode == 0, $"virsh define (again) failed: {redefine.Stderr}");
        await WaitUntil(() => EventsOf(name).Count(e => e.Kind == DomainEventKind.Defined) >= 3, "third Defined event");
        // libvirt renumbers its own controllers on a redefine; ours must be exactly as before, and overlayd
        // must not have redefined (that would be a fourth Defined event).
        var redefined = XDocument.Parse(LibvirtdFixture.RunVirsh("dumpxml", "--inactive", name).Stdout).Root!.Element("devices")!;
        Assert.Equal(devices.Elements("shmem").Select(e => e.ToString()), redefined.Elements("shmem").Select(e => e.ToString()));
        Assert.Equal(devices.Elements("channel").Select(e => e.ToString()), redefined.Elements("channel").Select(e => e.ToString()));
        await Task.Delay(500);
        Assert.Equal(3, EventsOf(name).Count(e => e.Kind == DomainEventKind.Defined));

        var start = LibvirtdFixture.RunVirsh("start", name);
        Assert.True(start.ExitCode == 0, $"virsh start failed: {start.Stderr}");
        await WaitUntil(() => EventsOf(name).Any(e => e.Kind == DomainEventKind.Started), "Started event");
        var destroy = LibvirtdFixture.RunVirsh("destroy", name);
        Assert.True(destroy.ExitCode == 0, $"virsh destroy failed: {destroy.Stderr}");
        var undefine = LibvirtdFixture.RunVirsh("undefine", name);
        Assert.True(undefine.ExitCode == 0, $"virsh undefine failed: {undefine.Stderr}");
        await WaitUntil(() => EventsOf(name).Any(e => e.Kind == DomainEventKind.Undefined), "Undefined event");

        var kinds = EventsOf(name).Select(e => e.Kind).ToList();
        output.WriteLine("lifecycle: " + string.Join(", ", kinds));
        // QEMU adds Resumed (leaving the paused start) and Shutdown (host signal on destroy) around these.
        DomainEventKind[] milestones = [DomainEventKind.Defined, DomainEventKind.Started, DomainEventKind.Stopped, DomainEventKind.Undefined];
        Assert.Equal(
            [DomainEventKind.Defined, DomainEventKind.Defined, DomainEventKind.Defined, DomainEventKind.Started, DomainEventKind.Stopped, DomainEventKind.Undefined],
            kinds.Where(milestones.Contains).ToArray());

        var hookOps = _host!.Journal.Recent().Where(r => r.Domain == name).Select(r => $"{r.Operation}/{r.SubOperation}").ToList();
        output.WriteLine("hook: " + string.Join(", ", hookOps));
        Assert.True(_host.Journal.Recent().Where(r => r.Domain == name).All(r => r.Ours && r.Allowed));
        string[] expected = ["prepare/begin", "started/begin", "stopped/end", "release/end"];
        Assert.Equal(expected, hookOps.Where(expected.Contains).ToArray());
        Assert.Equal("this-host", _store.GetDomain(name)!.Host);
    }

    [Fact]
    public async Task MemberOfUnknownGroup_Start_RefusedAtPrepareWithOverlaydsReasonInVirshError()
    {
        string group = _scope.Group("ghost");
        string name = DefineWithVirsh(_scope.Domain("ghost"), E2eDomains.Member(group));
        await WaitUntil(() => EventsOf(name).Count(e => e.Kind == DomainEventKind.Defined) >= 2, "define and equip");

        var (rc, _, err) = LibvirtdFixture.RunVirsh("start", name);
        output.WriteLine(err);

        Assert.NotEqual(0, rc);
        Assert.Contains($"group '{group}' is not defined in overlayd", err);
        var refusal = Assert.Single(_host!.Journal.Recent(), r => r.Domain == name && r.Operation == "prepare");
        Assert.False(refusal.Allowed);
        var state = LibvirtdFixture.RunVirsh("domstate", name);
        Assert.Contains("shut off", state.Stdout);
    }

    [Fact]
    public async Task ForeignDomain_Defined_IsNotModified()
    {
        string name = DefineWithVirsh(_scope.Domain("foreign"), metadata: null);
        string before = LibvirtdFixture.RunVirsh("dumpxml", "--inactive", name).Stdout;
        await WaitUntil(() => EventsOf(name).Any(e => e.Kind == DomainEventKind.Defined), "Defined event");

        Assert.Equal(before, LibvirtdFixture.RunVirsh("dumpxml", "--inactive", name).Stdout);
        Assert.Single(EventsOf(name));
    }

    [Fact]
    public async Task StrictPlacement_MemberWhoseGroupRunsElsewhere_RefusedAtPrepare()
    {
        string group = _scope.Group("strict");
        _store.DefineGroup(group, IPNetwork.Parse("10.42.0.0/16"), ProtectionLevel.Sealed);
        _store.UpsertHost("other-host", IPAddress.Parse("192.0.2.7"), 8);
        _store.DefineApplication(group, "peer", null, "vm-elsewhere", []);
        _store.UpsertDomain("vm-elsewhere", null, "other-host", null);
        string name = DefineWithVirsh(_scope.Domain("strict"), E2eDomains.Member(group));
        await WaitUntil(() => EventsOf(name).Count(e => e.Kind == DomainEventKind.Defined) >= 2, "define and equip");

        var options = (IOptionsMonitor<PlacementOptions>)_host!.Services.GetService(typeof(IOptionsMonitor<PlacementOptions>))!;
        options.CurrentValue.Strict = true;
        var refused = LibvirtdFixture.RunVirsh("start", name);
        output.WriteLine(refused.Stderr);
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("strict placement: it belongs on host 'other-host', not 'this-host'", refused.Stderr);

        Assert.Contains("shut off", LibvirtdFixture.RunVirsh("domstate", name).Stdout);
    }

    [Fact]
    public async Task MemberDomainWithAnInterface_GetsTheAntiSpoofFilter_WithItsAddress_AndStartsWithTheFilterBound()
    {
        string group = _scope.Group("web");
        _store.DefineGroup(group, IPNetwork.Parse("10.42.0.0/16"), ProtectionLevel.Sealed);
        string name = _scope.Domain("spoof");
        _store.UpsertDomain(name, null, "this-host", IPAddress.Parse("192.0.2.77"));
        string file = Path.Combine(_scope.AgentSocketDirectory, name + ".xml");
        string nic = "<interface type='ethernet'><mac address='52:54:00:4f:4b:01'/><model type='virtio'/></interface>";
        File.WriteAllText(file, E2eDomains.Xml(name, E2eDomains.Member(group, "frontend")).Replace("<memballoon model='none'/>", nic + "<memballoon model='none'/>"));
        var define = LibvirtdFixture.RunVirsh("define", file);
        Assert.True(define.ExitCode == 0, $"virsh define failed: {define.Stderr}");
        _store.DefineApplication(group, "frontend", null, name, []);
        await WaitUntil(() => EventsOf(name).Count(e => e.Kind == DomainEventKind.Defined) >= 2, "overlayd's equip redefinition");

        var iface = XDocument.Parse(LibvirtdFixture.RunVirsh("dumpxml", "--inactive", name).Stdout).Root!.Element("devices")!.Element("interface")!;
        var filter = iface.Element("filterref");
        Assert.NotNull(filter);
        Assert.Equal("clean-traffic", (string?)filter.Attribute("filter"));
        Assert.Equal("192.0.2.77", (string?)filter.Elements("parameter").Single(p => (string?)p.Attribute("name") == "IP").Attribute("value"));

        try
        {
            // libvirt instantiates the filter on the VM's tap at start (ebtables/iptables rules bound to the port).
            var start = LibvirtdFixture.RunVirsh("start", name);
            Assert.True(start.ExitCode == 0, $"virsh start with the anti-spoof filter failed: {start.Stderr}");
            var bindings = LibvirtdFixture.RunVirsh("nwfilter-binding-list");
            output.WriteLine(bindings.Stdout);
            Assert.Contains("clean-traffic", bindings.Stdout);
        }
        finally
        {
            LibvirtdFixture.RunVirsh("destroy", name);
            LibvirtdFixture.RunVirsh("undefine", name);
        }
    }

    [Fact]
    public void Binding_AttachDetachDevice_ConfigOnRealDriver()
    {
        string name = DefineWithVirsh(_scope.Domain("attach"), metadata: null);
        using var conn = LibvirtConnection.Open(LibvirtdFixture.Uri);
        using var domain = conn.LookupByName(name);
        const string device = "<shmem name='okvmt-attach-probe'><model type='ivshmem-plain'/><size unit='M'>1</size></shmem>";

        domain.AttachDevice(device, DomainModification.Config);
        Assert.Contains("okvmt-attach-probe", domain.GetXml(inactive: true));
        domain.DetachDevice(device, DomainModification.Config);
        Assert.DoesNotContain("okvmt-attach-probe", domain.GetXml(inactive: true));

        var ex = Assert.Throws<LibvirtOperationFailedException>(() => domain.AttachDevice(device, DomainModification.Live));
        Assert.Contains("not running", ex.LibvirtMessage);
    }
}
