using OverlayKvm.Integration.Tests.Daemon;
using OverlayKvm.Integration.Tests.Harness;

namespace OverlayKvm.Integration.Tests.Cluster;

/// <summary>
/// Two KVM "hosts" on one machine, sharing one etcd (issue 11's test topology):
/// <code>
///   vmA1 10.77.1.11 ─┐                                   ┌─ vmB 10.77.2.21
///   vmA2 10.77.1.12 ─┴ clbra (host hA, 10.77.1.1)        clbrb (host hB, 10.77.2.1)
///                      hA 192.168.77.1 ── clbr0 (underlay namespace) ── 192.168.77.2 hB
/// </code>
/// Each host is a namespace that routes its VMs' subnet across the underlay bridge; each VM is a namespace behind
/// its host with a real overlay-agent. Each host's overlayd runs as its own process (<c>--host-name hA|hB</c>, its
/// own admin socket, channel and engine directories) on the etcd store; the daemons stay in the root namespace
/// because etcd listens on loopback and the channels are unix sockets (neither is a network path between hosts).
/// Group web: client (10.1.0.1) on vmA1, near (10.1.0.3) on vmA2 — same host, the engine — and server (10.1.0.2)
/// on vmB — other host, sealed over the underlay. Everything is removed on dispose, even after a failure.
/// </summary>
internal sealed class ClusterTopology : IAsyncDisposable
{
    public const string Client = "10.1.0.1";
    public const string Server = "10.1.0.2";
    public const string Near = "10.1.0.3";
    public const string VmA1 = "10.77.1.11";
    public const string VmA2 = "10.77.1.12";
    public const string VmB = "10.77.2.21";

    private readonly CleanupStack _cleanup = new();
    private readonly List<AppProcess> _apps = [];
    private readonly string[] _storeArguments;

    private ClusterTopology(string[] storeArguments, int leaseTtlSeconds)
    {
        _storeArguments = storeArguments;
        Work = Directory.CreateTempSubdirectory("okvm-cl-").FullName;
        LeaseTtlSeconds = leaseTtlSeconds;
        HostA = NewDaemon("hA", "192.168.77.1");
        HostB = NewDaemon("hB", "192.168.77.2");
    }

    public string Work { get; }

    public int LeaseTtlSeconds { get; }

    public DaemonProcess HostA { get; }

    /// <summary>Host B's overlayd; <see cref="RestartHostBAsync"/> replaces it (same sockets and directories).</summary>
    public DaemonProcess HostB { get; private set; }

    public Overlayctl CtlA => new(HostA.Socket);

    public Overlayctl CtlB => new(HostB.Socket);

    public NetNamespace Underlay { get; private set; } = null!;

    public NetNamespace NsA { get; private set; } = null!;

    public NetNamespace NsB { get; private set; } = null!;

    public NetNamespace NsVmA1 { get; private set; } = null!;

    public NetNamespace NsVmA2 { get; private set; } = null!;

    public NetNamespace NsVmB { get; private set; } = null!;

    public AgentProcess AgentA1 { get; private set; } = null!;

    public AgentProcess AgentA2 { get; private set; } = null!;

    public AgentProcess AgentB { get; private set; } = null!;

    /// <param name="storeArguments">overlayd's store switches (etcd endpoints, cluster key), the same for both hosts.</param>
    public static async Task<ClusterTopology> CreateAsync(string[] storeArguments, int leaseTtlSeconds = 10)
    {
        Prerequisites.RequireRootAndTools("ip", "tcpdump");
        var t = new ClusterTopology(storeArguments, leaseTtlSeconds);
        try
        {
            await t.BuildAsync();
            return t;
        }
        catch
        {
            await t.DisposeAsync();
            throw;
        }
    }

    private DaemonProcess NewDaemon(string host, string address) => new()
    {
        HostName = host,
        HostAddress = address,
        ExtraArguments = [.. _storeArguments, "--lease-ttl", LeaseTtlSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)],
    };

    private async Task BuildAsync()
    {
        BuildNetwork();
        await Task.WhenAll(HostA.StartAsync(), HostB.StartAsync());
        var a = CtlA;
        await a.OkAsync("group-define", "web", "--cidr", "10.1.0.0/16");
        await a.OkAsync("domain-define", "vmA1", "--address", VmA1, "--host", "hA");
        await a.OkAsync("domain-define", "vmA2", "--address", VmA2, "--host", "hA");
        // Host B's VM is declared on host B: both daemons write the one store.
        await CtlB.OkAsync("domain-define", "vmB", "--address", VmB, "--host", "hB");
        await a.OkAsync("app-define", "web", "client", "--domain", "vmA1", "--address", Client);
        await a.OkAsync("app-define", "web", "near", "--domain", "vmA2", "--address", Near);
        await a.OkAsync("app-define", "web", "server", "--domain", "vmB", "--address", Server);

        AgentA1 = StartAgent(NsVmA1, "vmA1", HostA);
        AgentA2 = StartAgent(NsVmA2, "vmA2", HostA);
        AgentB = StartAgent(NsVmB, "vmB", HostB);
        await WaitAppliedAsync(TimeSpan.FromSeconds(30));
        StartApp(AgentA1, "client", Client);
        StartApp(AgentA2, "near", Near);
        StartApp(AgentB, "server", Server);
    }

    private void BuildNetwork()
    {
        Underlay = Track(NetNamespace.Create("clu"));
        NsA = Track(NetNamespace.Create("clha"));
        NsB = Track(NetNamespace.Create("clhb"));
        NsVmA1 = Track(NetNamespace.Create("cla1"));
        NsVmA2 = Track(NetNamespace.Create("cla2"));
        NsVmB = Track(NetNamespace.Create("clb"));

        NetTopology.Bridge(Underlay, "clbr0");
        foreach (var (host, dev, address) in new[] { (NsA, "ula", "192.168.77.1"), (NsB, "ulb", "192.168.77.2") })
        {
            NetTopology.Attach(Underlay, "clbr0", dev, host, "ul", address);
            Sysctl(host, "net.ipv4.ip_forward=1");
        }

        HostBridge(NsA, "clbra", "10.77.1.1", [(NsVmA1, VmA1), (NsVmA2, VmA2)]);
        HostBridge(NsB, "clbrb", "10.77.2.1", [(NsVmB, VmB)]);
        NsA.Ip("route", "add", "10.77.2.0/24", "via", "192.168.77.2");
        NsB.Ip("route", "add", "10.77.1.0/24", "via", "192.168.77.1");
    }

    private static void HostBridge(NetNamespace host, string bridge, string gateway, (NetNamespace Vm, string Address)[] vms)
    {
        NetTopology.Bridge(host, bridge, gateway);
        int i = 0;
        foreach (var (vm, address) in vms)
        {
            NetTopology.Attach(host, bridge, $"{bridge}p{i++}", vm, "eth0", address);
            vm.Ip("route", "add", "default", "via", gateway);
        }
    }

    private static void Sysctl(NetNamespace ns, string setting)
    {
        var (code, _, err) = ns.Exec("sysctl", "-qw", setting);
        Assert.True(code == 0, $"sysctl {setting} in {ns.Name} failed: {err}");
    }

    private AgentProcess StartAgent(NetNamespace vm, string domain, DaemonProcess host)
    {
        var agent = Track(new AgentProcess(vm, Path.Combine(Work, domain), domain) { ExtraArguments = ["--engine-dir", host.EngineDir] });
        agent.Start();
        // overlayd looks for DOMAIN.agent.sock in its channel directory, where libvirt would bind the port.
        File.CreateSymbolicLink(Path.Combine(host.ChannelDir, $"{domain}.agent.sock"), agent.ChannelSocket);
        return agent;
    }

    private void StartApp(AgentProcess agent, string app, string address)
    {
        _apps.Add(AppProcess.StartOnAdapter(agent, app, address));
    }

    /// <summary>
    /// Waits until both hosts see both hosts alive and every agent runs exactly the document its host would push now
    /// (digests: a host coming back changes documents without a new store version).
    /// </summary>
    public async Task WaitAppliedAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        foreach (var ctl in new[] { CtlA, CtlB })
        {
            while (true)
            {
                var hosts = await ctl.JsonAsync("host-list");
                if (hosts.GetArrayLength() == 2 && hosts.EnumerateArray().All(h => h.GetProperty("alive").GetBoolean())) break;
                if (DateTime.UtcNow > deadline) Assert.Fail($"the hosts do not see each other alive within {timeout.TotalSeconds} s: {hosts.GetRawText()}\n{Logs()}");
                await Task.Delay(100);
            }
        }
        await ConfigApplied.WaitAsync(CtlA, AgentA1, AgentA2);
        await ConfigApplied.WaitAsync(CtlB, AgentB);
    }

    /// <summary>Starts host B's overlayd again (after a kill), on the same sockets and directories.</summary>
    public async Task RestartHostBAsync() => await HostB.StartAsync();

    public T Track<T>(T d)
        where T : IDisposable => _cleanup.Track(d);

    public string Logs() =>
        $"--- overlayd hA ---\n{HostA.Log}\n--- overlayd hB ---\n{HostB.Log}\n--- agent vmA1 ---\n{AgentA1?.Log}\n--- agent vmA2 ---\n{AgentA2?.Log}\n--- agent vmB ---\n{AgentB?.Log}";

    public async ValueTask DisposeAsync()
    {
        foreach (var app in _apps) app.Dispose();
        try
        {
            await _cleanup.DisposeAllAsync();
        }
        finally
        {
            // The daemons go even when something tracked failed to: a test never leaves overlayd running.
            await HostA.DisposeAsync();
            await HostB.DisposeAsync();
            Directory.Delete(Work, recursive: true);
        }
    }
}
