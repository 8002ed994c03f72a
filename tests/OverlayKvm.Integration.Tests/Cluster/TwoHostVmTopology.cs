using System.Diagnostics;
using System.Globalization;
using OverlayKvm.Integration.Tests.Daemon;
using OverlayKvm.Integration.Tests.E2e;
using OverlayKvm.Integration.Tests.Harness;
using OverlayKvm.Integration.Tests.Migration;
using OverlayKvm.Integration.Tests.Vm;
using OverlayKvm.Tests.Etcd;

namespace OverlayKvm.Integration.Tests.Cluster;

/// <summary>
/// Issue 11's real-VM topology, reusable (the migration tests of issue 15 start from it): two hosts on one machine,
/// each a <see cref="LibvirtHost"/> (own libvirtd, mount namespace, run folder, /dev/shm) with its own overlayd
/// (<c>--store etcd --host-name hA|hB</c>, own admin socket, channel folder and libvirt URI, lifecycle events on),
/// both on one etcd (1 member: this test shows paths, not quorum, and every member is one more process on a loaded
/// 2-core machine; the namespace tests run 3). Three booted TCG VMs with the Native AOT agent, one group web:
/// <code>
///   host hA: vm1 192.168.171.11 (app client 10.1.0.1)   vm3 192.168.171.13 (app near 10.1.0.3)
///   host hB: vm2 192.168.171.12 (app server 10.1.0.2)
///   underlay: one bridge in the root network namespace that every domain's NIC joins (static addresses)
/// </code>
/// Each overlayd lays out web's engine region in its own host's /dev/shm (reached as /proc/LIBVIRTD/root/dev/shm),
/// where that host's QEMUs map it as their ivshmem-plain device. The libvirt domains carry the overlay domains'
/// names, so overlayd's lifecycle events and a live migration of vm2 (hot-detach the region, migrate, attach the
/// destination's; the domains have &lt;acpi/&gt;) work as on real hosts; vm2 may start on hA instead. The guests run
/// packaging/guest-image/scenarios/cluster-apps.sh: vm2 and vm3 serve <see cref="TransferBytes"/> bytes, vm1
/// fetches vm2's (sealed) then vm3's (engine) and stays up. <see cref="CreateAsync"/> defines everything,
/// <see cref="BootAsync"/> starts the three VMs at once; dispose removes all of it, pass or fail.
/// </summary>
internal sealed class TwoHostVmTopology : IAsyncDisposable
{
    public const string Group = "web";
    public const string HostA = "hA", HostB = "hB";
    public const string Vm1 = "vm1", Vm2 = "vm2", Vm3 = "vm3";
    public const string Vm1Ip = "192.168.171.11", Vm2Ip = "192.168.171.12", Vm3Ip = "192.168.171.13";
    public const string ClientApp = "client", ServerApp = "server", NearApp = "near";
    public const string ClientAppIp = "10.1.0.1", ServerAppIp = "10.1.0.2", NearAppIp = "10.1.0.3";
    /// <summary>With rounds: the underlay address of the migration baseline's VM (<see cref="PlainVmMigration"/>), which vm1 looks for between rounds.</summary>
    public const string PlainVmIp = "192.168.171.14";
    public const string PlaintextMarker = "OVK-TWOHOST-PLAINTEXT-";
    public const string AgentArgs = "serve --control /run/oa.sock --state-dir /tmp/oa";
    /// <summary>overlayd's default Engine:RegionSizeBytes, which the domains' ivshmem size must equal.</summary>
    public const int RegionMiB = 16;
    private const int EtcdPort = 33393; // the cluster tests' range; ClusterStore uses 33379-33381, the migration topology 33391
    private const string ImageDir = "twohost";
    /// <summary>
    /// With rounds (vm2 migrates): the channel sockets' folder as each host's QEMUs see it, in the host's private
    /// /var/lib/libvirt, as on real hosts where every host has the same folder. A folder of the test's (one per overlayd)
    /// would follow vm2 in its migrated XML: hB's QEMU would bind hA's overlayd's path, and hB's overlayd never find it.
    /// </summary>
    private const string GuestChannelDir = "/var/lib/libvirt/qemu/channel/overlaykvm";

    private readonly Action<string> _log;
    private readonly bool _rounds;
    private readonly Dictionary<string, string> _placement;
    private readonly CleanupStack _cleanup = new();
    private EtcdCluster? _etcd;

    private TwoHostVmTopology(int transferBytes, string vm2Host, bool rounds, Action<string> log)
    {
        TransferBytes = transferBytes;
        _rounds = rounds;
        _placement = new(StringComparer.Ordinal) { [Vm1] = HostA, [Vm2] = vm2Host, [Vm3] = HostA };
        _log = log;
        Work = Directory.CreateTempSubdirectory("okvm-th-").FullName;
    }

    public int TransferBytes { get; }

    public string Work { get; }

    /// <summary>The guest image the three domains boot (a test may boot another domain from it).</summary>
    public GuestImage Image { get; private set; } = null!;

    public LibvirtHost LibvirtA { get; private set; } = null!;

    public LibvirtHost LibvirtB { get; private set; } = null!;

    public DaemonProcess OverlaydA { get; private set; } = null!;

    public DaemonProcess OverlaydB { get; private set; } = null!;

    public Overlayctl CtlA => new(OverlaydA.Socket);

    public Overlayctl CtlB => new(OverlaydB.Socket);

    public UnderlayBridge Underlay { get; private set; } = null!;

    /// <summary>The three domains by overlay (= libvirt) name.</summary>
    public Dictionary<string, TestDomain> Domains { get; } = new(StringComparer.Ordinal);

    /// <summary>Per domain: host-clock time from 'virsh start' until its host showed the configuration acknowledged.</summary>
    public Dictionary<string, TimeSpan> StartToAck { get; } = new(StringComparer.Ordinal);

    /// <summary>The host a VM runs on now.</summary>
    public string HostOf(string vm) => _placement[vm];

    /// <summary>Records that <paramref name="vm"/> was migrated to <paramref name="host"/> (its domain now lives on that libvirtd).</summary>
    public void RecordMigrated(string vm, string host)
    {
        _placement[vm] = host;
        Domains[vm].MovedTo(LibvirtOf(host).Uri);
    }

    public LibvirtHost LibvirtOf(string host) => host == HostA ? LibvirtA : LibvirtB;

    public Overlayctl CtlOf(string host) => host == HostA ? CtlA : CtlB;

    public DaemonProcess OverlaydOf(string host) => host == HostA ? OverlaydA : OverlaydB;

    /// <summary>A host's /dev/shm (its private tmpfs) as the root mount namespace reaches it: that host's engine folder.</summary>
    public static string ShmOf(LibvirtHost host) => $"/proc/{host.Pid}/root/dev/shm";

    /// <param name="vm2Host">Where vm2 starts: <see cref="HostB"/> (the cross-host paths), or <see cref="HostA"/> beside vm1 (to migrate it away).</param>
    /// <param name="rounds">vm1 goes on fetching vm2's file in rounds after the scenario (overlaykvm.rounds=1), so a migration can run under a transfer.</param>
    public static async Task<TwoHostVmTopology> CreateAsync(int transferBytes, Action<string> log, string vm2Host = HostB, bool rounds = false)
    {
        Prerequisites.RequireRootAndTools("ip", "unshare", "virsh", "tcpdump");
        var t = new TwoHostVmTopology(transferBytes, vm2Host, rounds, log);
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
        // The slow independent parts at once: the agent's AOT publish and the image (minutes when cold), etcd, two libvirtds.
        var image = BuildImageAsync();
        try
        {
            await BuildHostsAsync(image);
        }
        finally
        {
            // Never leave the publish/build running behind a failed build; its own failure is reported by the await above
            // when it is the cause, else it is secondary.
            if (!image.IsCompleted)
                await Task.WhenAny(image, Task.Delay(TimeSpan.FromMinutes(10)));
        }
    }

    private async Task BuildHostsAsync(Task<GuestImage> image)
    {
        var etcd = Task.Run(() => new EtcdCluster(EtcdPort, members: 1));
        var hosts = Task.Run(() => (Track(LibvirtHost.Start("tha")), Track(LibvirtHost.Start("thb"))));
        try
        {
            await Stage("etcd (1 member) and two libvirtd hosts", Task.WhenAll(etcd, hosts));
        }
        finally
        {
            if (etcd.IsCompletedSuccessfully) _etcd = etcd.Result;
        }
        (LibvirtA, LibvirtB) = hosts.Result;
        Underlay = Track(UnderlayBridge.Create("thbr"));
        _log($"hosts: hA libvirtd pid {LibvirtA.Pid} ({LibvirtA.Uri}), hB libvirtd pid {LibvirtB.Pid} ({LibvirtB.Uri}); underlay bridge {Underlay.Name}");

        var key = EtcdDaemon.NewClusterKey(Work);
        string[] store = ["--store", "etcd", "--etcd-endpoints", _etcd!.Endpoints, "--cluster-key", key, "--lease-ttl", "5"];
        OverlaydA = NewDaemon(HostA, "192.168.171.1", LibvirtA, (HostB, LibvirtB), store);
        OverlaydB = NewDaemon(HostB, "192.168.171.2", LibvirtB, (HostA, LibvirtA), store);
        await Stage("overlayd hA and hB on etcd", Task.WhenAll(OverlaydA.StartAsync(), OverlaydB.StartAsync()));
        await Stage("group, domains and apps", DeclareAsync());
        await Stage("engine regions laid out", Task.WhenAll(WaitRegionAsync(LibvirtOf(HostOf(Vm1))), WaitRegionAsync(LibvirtOf(HostOf(Vm2)))));

        var guest = Image = await Stage("Native AOT agent and guest image", image);
        foreach (var vm in new[] { Vm1, Vm2, Vm3 })
            Domains[vm] = await Stage($"define {vm} on {HostOf(vm)}", DefineAsync(guest, vm));
    }

    private async Task<GuestImage> BuildImageAsync()
    {
        var agent = await AotAgent.PublishAsync(_log);
        // Its own cache folder with rounds: the image's scenario is the same, but runs of both kinds may overlap.
        return await GuestImage.BuildAsync(Path.Combine(GuestImage.CacheRoot, _rounds ? ImageDir + "-rounds" : ImageDir), agent, _log, GuestScenario.Extras("cluster-apps"));
    }

    private DaemonProcess NewDaemon(string name, string address, LibvirtHost libvirt, (string Name, LibvirtHost Libvirt) peer, string[] store)
    {
        var daemon = _rounds
            ? new DaemonProcess(ShmOf(libvirt)) { HostName = name, HostAddress = address, ExtraArguments = store, ChannelDir = $"/proc/{libvirt.Pid}/root{GuestChannelDir}" }
            : new DaemonProcess(ShmOf(libvirt)) { HostName = name, HostAddress = address, ExtraArguments = store };
        libvirt.Host(daemon, name, peer);
        daemon.Environment["OVERLAYKVM_LIBVIRT__AGENTSOCKETDIRECTORY"] = daemon.ChannelDir;
        daemon.AllowQemuIntoChannelDir();
        return daemon;
    }

    private async Task DeclareAsync()
    {
        var a = CtlA;
        await a.OkAsync("group-define", Group, "--cidr", "10.1.0.0/16");
        await a.OkAsync("domain-define", Vm1, "--address", Vm1Ip, "--host", HostA);
        await a.OkAsync("domain-define", Vm3, "--address", Vm3Ip, "--host", HostA);
        // vm2 is declared through its own host's overlayd: both daemons write the one store.
        await CtlOf(HostOf(Vm2)).OkAsync("domain-define", Vm2, "--address", Vm2Ip, "--host", HostOf(Vm2));
        await a.OkAsync("app-define", Group, ClientApp, "--domain", Vm1, "--address", ClientAppIp);
        await a.OkAsync("app-define", Group, ServerApp, "--domain", Vm2, "--address", ServerAppIp);
        await a.OkAsync("app-define", Group, NearApp, "--domain", Vm3, "--address", NearAppIp);
    }

    /// <summary>overlayd makes the region before any VM starts (else QEMU would create a file overlayd then replaces).</summary>
    private static async Task WaitRegionAsync(LibvirtHost host)
    {
        var path = Path.Combine(ShmOf(host), "overlaykvm-" + Group);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!File.Exists(path))
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"no engine region {path} 30 s after the apps were defined");
            await Task.Delay(100);
        }
    }

    private Task<TestDomain> DefineAsync(GuestImage image, string vm)
    {
        var host = HostOf(vm);
        var (role, app, appIp, ip) = vm switch
        {
            Vm1 => ("client", ClientApp, ClientAppIp, Vm1Ip),
            Vm2 => ("server", ServerApp, ServerAppIp, Vm2Ip),
            _ => ("server", NearApp, NearAppIp, Vm3Ip),
        };
        var peers = vm == Vm1
            ? $" overlaykvm.sealedpeer={ServerAppIp} overlaykvm.sealedpeerip={Vm2Ip} overlaykvm.enginepeer={NearAppIp} overlaykvm.enginepeerip={Vm3Ip}"
            : "";
        var cmdline = $"overlaykvm.ip={ip}/24 overlaykvm.agent=\"{AgentArgs}\" overlaykvm.test=/bin/cluster-apps overlaykvm.role={role} " +
            $"overlaykvm.app={app} overlaykvm.appip={appIp} overlaykvm.group={Group} " +
            $"overlaykvm.size={TransferBytes.ToString(CultureInfo.InvariantCulture)}{peers}{(vm == Vm1 && _rounds ? " overlaykvm.rounds=1 overlaykvm.plainip=" + PlainVmIp : "")}";
        var spec = new TestDomainSpec(image)
        {
            Name = vm,
            LibvirtUri = LibvirtOf(host).Uri,
            ExtraCmdline = cmdline,
            MemoryMiB = 384,
            Bridge = Underlay.Name,
            // thbrXXXXXX + digit: unique, ≤ 15 bytes. Not for vm2 when it migrates: both libvirtds share the root network
            // namespace, and the destination refuses a tap name the source's still holds ("interface already exists");
            // a generated vnetN is picked free of those that exist (only starts at the same instant could collide).
            TapName = vm == Vm2 && _rounds ? null : $"{Underlay.Name}{vm[^1]}",
            AgentSocketPath = _rounds ? $"{GuestChannelDir}/{vm}.agent.sock" : Path.Combine(OverlaydOf(host).ChannelDir, vm + ".agent.sock"),
            ShmemMiB = RegionMiB,
            SharedShmemName = "overlaykvm-" + Group,
        };
        return TestDomain.DefineAsync(spec, _log);
    }

    /// <summary>Starts the three VMs at once and waits until each one's host shows its agent acknowledged its document.</summary>
    public async Task BootAsync(TimeSpan timeout)
    {
        var waits = new List<Task>();
        foreach (var (vm, domain) in Domains)
        {
            waits.Add(Task.Run(async () =>
            {
                var ctl = CtlOf(HostOf(vm));
                long version = (await ctl.JsonAsync("domain-config", vm)).GetProperty("version").GetInt64();
                var watch = Stopwatch.StartNew();
                await Stage($"virsh start {vm} on {HostOf(vm)}", domain.StartAsync());
                await Stage($"{vm}'s agent acknowledging version {version} on {HostOf(vm)}", ChannelAck.WaitAsync(ctl, vm, version, timeout));
                lock (StartToAck) StartToAck[vm] = watch.Elapsed;
                _log($"{vm} on {HostOf(vm)}: configuration acknowledged {watch.Elapsed.TotalSeconds:F1} s after virsh start");
            }));
        }
        await Task.WhenAll(waits);
    }

    /// <summary>Awaits one stage of the build; a failure names the stage (a slow TCG boot is not a crash).</summary>
    private static async Task<T> Stage<T>(string stage, Task<T> task)
    {
        try
        {
            return await task;
        }
        catch (Exception e)
        {
            throw new InvalidOperationException($"two-host VM topology, stage '{stage}': {e.Message}", e);
        }
    }

    private static Task Stage(string stage, Task task) => Stage(stage, WithResult(task));

    private static async Task<bool> WithResult(Task task)
    {
        await task;
        return true;
    }

    public T Track<T>(T d)
        where T : IDisposable => _cleanup.Track(d);

    /// <summary>Both overlayds' logs and every console's end, for a failure message.</summary>
    public string Logs()
    {
        var text = new System.Text.StringBuilder();
        text.Append("--- overlayd hA ---\n").Append(SerialLog.Tail(OverlaydA?.Log ?? "", 4000));
        text.Append("\n--- overlayd hB ---\n").Append(SerialLog.Tail(OverlaydB?.Log ?? "", 4000));
        foreach (var (vm, domain) in Domains)
            text.Append($"\n--- {vm} serial ---\n").Append(SerialLog.Tail(domain.Serial.ReadAll(), 3000));
        return text.ToString();
    }

    public async ValueTask DisposeAsync()
    {
        var failures = new List<Exception>();
        async Task Step(Func<ValueTask> step)
        {
            try { await step(); }
            catch (Exception e) { failures.Add(e); }
        }
        foreach (var domain in Domains.Values) await Step(domain.DisposeAsync);
        if (OverlaydA is not null) await Step(OverlaydA.DisposeAsync);
        if (OverlaydB is not null) await Step(OverlaydB.DisposeAsync);
        try
        {
            await _cleanup.DisposeAllAsync();
        }
        catch (AggregateException e)
        {
            failures.AddRange(e.InnerExceptions);
        }
        await Step(() => { _etcd?.Dispose(); return ValueTask.CompletedTask; });
        await Step(() => { Directory.Delete(Work, recursive: true); return ValueTask.CompletedTask; });
        if (failures.Count > 0) throw new AggregateException("cleanup of the two-host VM topology failed", failures);
    }
}
