using OverlayKvm.Integration.Tests.Daemon;
using OverlayKvm.Integration.Tests.Harness;
using OverlayKvm.Tests.Etcd;

namespace OverlayKvm.Integration.Tests.Migration;

/// <summary>
/// Two libvirt hosts of one cluster for the migration tests (issue 15's test topology, issue 11's two-libvirtd
/// hosts): hosts hA and hB are each a <see cref="LibvirtHost"/> (own libvirtd, mount namespace, run folder,
/// /dev/shm and host_uuid) with its own overlayd following it (lifecycle events on), both on one etcd (one member,
/// port 33391), each knowing the other's libvirt for domain-migrate. Domain vmB is a real TCG domain (firmware
/// only, so it never answers an ACPI eject) started on hA, and migrates live over loopback.
/// The guest sides are namespaces with real agents, joined by a veth underlay: vmA (10.99.6.1, app client
/// 10.42.0.1, on hA) and vmB (10.99.6.2, app server 10.42.0.2). vmB's channel socket is linked into both
/// overlayds' channel folders, as libvirt would bind it on whichever host runs it: an overlayd talks to it only
/// while the store places vmB on its host. Everything goes on dispose, pass or fail.
/// </summary>
internal sealed class TwoHostMigrationTopology : IAsyncDisposable
{
    public const string Client = "10.42.0.1";
    public const string Server = "10.42.0.2";
    public const string Group = "mig";

    /// <summary>What a test may change; the defaults are the migration tests' topology.</summary>
    /// <param name="Tag">Prefix of the libvirt roots and namespaces (unique per test family: helpers run concurrently).</param>
    /// <param name="VmBHost">Where vmB is created and placed: "hA" (beside vmA) or "hB".</param>
    /// <param name="Engine">Agents map hA's engine regions (--engine-dir) instead of --no-engine.</param>
    /// <param name="ConfigureDaemon">More overlayd settings, per daemon (host name given).</param>
    /// <param name="PlugRegionsOnArrival">
    /// Libvirt:PlugRegionsOnArrival of both overlayds. False for tests that migrate vmB back and forth with virsh alone:
    /// once a region is plugged in, this firmware-only guest cannot migrate again (it never answers the unplug).
    /// </param>
    internal sealed record Options(string Tag = "mg", int EtcdPort = 33391, string VmBHost = "hA", bool Engine = false,
        Action<TwoHostMigrationTopology, DaemonProcess, string>? ConfigureDaemon = null, bool PlugRegionsOnArrival = true);

    private readonly CleanupStack _cleanup = new();
    private EtcdCluster? _etcd;

    private readonly Options _options;

    private TwoHostMigrationTopology(Options options)
    {
        _options = options;
        Work = Directory.CreateTempSubdirectory("okvm-mig-").FullName;
    }

    public string Work { get; }

    public LibvirtHost LibvirtA { get; private set; } = null!;

    public LibvirtHost LibvirtB { get; private set; } = null!;

    public DaemonProcess HostA { get; private set; } = null!;

    public DaemonProcess HostB { get; private set; } = null!;

    public Overlayctl CtlA => new(HostA.Socket);

    public Overlayctl CtlB => new(HostB.Socket);

    public NetNamespace NsA { get; private set; } = null!;

    public NetNamespace NsB { get; private set; } = null!;

    public AgentProcess AgentA { get; private set; } = null!;

    public AgentProcess AgentB { get; private set; } = null!;

    public static async Task<TwoHostMigrationTopology> CreateAsync(Options? options = null)
    {
        Prerequisites.RequireRootAndTools("ip", "unshare", "virsh");
        var t = new TwoHostMigrationTopology(options ?? new Options());
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

    private async Task BuildAsync()
    {
        string tag = _options.Tag;
        _etcd = new EtcdCluster(_options.EtcdPort, members: 1);
        var key = Path.Combine(Work, "cluster.key");
        File.WriteAllBytes(key, System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        File.SetUnixFileMode(key, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        string[] store = ["--store", "etcd", "--etcd-endpoints", _etcd.Endpoints, "--cluster-key", key, "--lease-ttl", "3"];

        LibvirtA = Track(LibvirtHost.Start(tag + "a"));
        LibvirtB = Track(LibvirtHost.Start(tag + "b"));
        HostA = NewDaemon("hA", "10.99.6.101", LibvirtA, ("hB", LibvirtB), store);
        HostB = NewDaemon("hB", "10.99.6.102", LibvirtB, ("hA", LibvirtA), store);
        var xml = Path.Combine(Work, "vmB.xml");
        File.WriteAllText(xml, DestroyedMemberScenario.FirmwareOnlyDomainXml("vmB"));
        (_options.VmBHost == "hB" ? LibvirtB : LibvirtA).Virsh("create", xml);

        NsA = Track(NetNamespace.Create(tag + "a"));
        NsB = Track(NetNamespace.Create(tag + "b"));
        NetTopology.TwoVms(NsA, NsB, "10.99.6");

        await Task.WhenAll(HostA.StartAsync(), HostB.StartAsync());
        var a = CtlA;
        await a.OkAsync("group-define", Group, "--cidr", "10.42.0.0/16");
        await a.OkAsync("domain-define", "vmA", "--address", "10.99.6.1", "--host", "hA");
        await a.OkAsync("domain-define", "vmB", "--address", "10.99.6.2", "--host", _options.VmBHost);
        await a.OkAsync("app-define", Group, "client", "--domain", "vmA", "--address", Client);
        await a.OkAsync("app-define", Group, "server", "--domain", "vmB", "--address", Server);

        AgentA = StartAgent(NsA, "vmA", HostA);
        AgentB = StartAgent(NsB, "vmB", HostA, HostB);
        await ConfigApplied.WaitAsync(a, AgentA, AgentB);
        StartApp(AgentA, "client", Client);
        StartApp(AgentB, "server", Server);
    }

    private DaemonProcess NewDaemon(string name, string address, LibvirtHost libvirt, (string Name, LibvirtHost Libvirt) peer, string[] store)
    {
        var daemon = new DaemonProcess { HostName = name, HostAddress = address, ExtraArguments = store };
        libvirt.Host(daemon, name, peer);
        daemon.Environment["OVERLAYKVM_LIBVIRT__REGIONUNPLUGTIMEOUT"] = "00:00:03";
        daemon.Environment["OVERLAYKVM_LIBVIRT__PLUGREGIONSONARRIVAL"] = _options.PlugRegionsOnArrival ? "true" : "false";
        daemon.Environment["OVERLAYKVM_LIBVIRT__AGENTSOCKETDIRECTORY"] = Path.Combine(Work, name + "-agent-sockets");
        _options.ConfigureDaemon?.Invoke(this, daemon, name);
        return daemon;
    }

    private AgentProcess StartAgent(NetNamespace ns, string domain, params DaemonProcess[] hosts)
    {
        // With the engine, both agents map hA's regions: vmA always runs there, and vmB uses them only once the
        // directory places it there too (on hB every route between them is sealed).
        string[] engine = _options.Engine ? ["--engine-dir", HostA.EngineDir] : ["--no-engine"];
        var agent = Track(new AgentProcess(ns, Path.Combine(Work, domain), domain) { ExtraArguments = engine });
        agent.Start();
        foreach (var host in hosts)
        {
            Directory.CreateDirectory(host.ChannelDir);
            File.CreateSymbolicLink(Path.Combine(host.ChannelDir, $"{domain}.agent.sock"), agent.ChannelSocket);
        }
        return agent;
    }

    private void StartApp(AgentProcess agent, string app, string address)
    {
        var p = Track(AppProcess.Start(agent, app));
        agent.WaitUntil(() => p.HasExited || agent.Namespace.Ip("-4", "addr", "show").Contains(address + "/32", StringComparison.Ordinal),
            TimeSpan.FromSeconds(20), $"address {address} of app {app}");
        Assert.False(p.HasExited, $"overlay-agent run --app {app} exited early: {p.Output()}\n{agent.Log}");
    }

    /// <summary>Live migration of vmB from <paramref name="from"/> to <paramref name="to"/> over loopback (virsh as the operator runs it).</summary>
    public static void Migrate(LibvirtHost from, LibvirtHost to) =>
        from.Virsh("migrate", "--live", "vmB", to.Uri, "--migrateuri", "tcp:127.0.0.1");

    /// <summary>A TCP stream from app client (vmA) to app server (vmB); fails unless it arrives byte for byte.</summary>
    public async Task TransferAsync(byte[] data)
    {
        var (sent, received) = await TcpTransfer.RunAsync(NsB, Server, NsA, Client, data, TimeSpan.FromSeconds(30));
        Assert.Equal(Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(sent)), Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(received)));
    }

    public T Track<T>(T d)
        where T : IDisposable => _cleanup.Track(d);

    public string Logs() =>
        $"--- overlayd hA ---\n{HostA?.Log}\n--- overlayd hB ---\n{HostB?.Log}\n--- agent vmA ---\n{AgentA?.Log}\n--- agent vmB ---\n{AgentB?.Log}";

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _cleanup.DisposeAllAsync();
        }
        finally
        {
            // The daemons and etcd go even when something tracked failed to: a test never leaves them running.
            if (HostA is not null) await HostA.DisposeAsync();
            if (HostB is not null) await HostB.DisposeAsync();
            _etcd?.Dispose();
            Directory.Delete(Work, recursive: true);
        }
    }
}
