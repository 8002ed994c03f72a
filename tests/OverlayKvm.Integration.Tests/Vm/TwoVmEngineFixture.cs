using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using OverlayKvm.Integration.Tests.Daemon;
using OverlayKvm.Integration.Tests.E2e;
using OverlayKvm.Integration.Tests.Harness;

namespace OverlayKvm.Integration.Tests.Vm;

/// <summary>
/// Runs the engine-path scenario once for <see cref="TwoVmEnginePathTests"/> (issue 6, show 1, and the measurements):
/// a real overlayd whose engine regions live in the host's /dev/shm; group G (random name, so its region file
/// /dev/shm/overlaykvm-G is this run's alone) with app client in vm1 and app server in vm2; overlayd lays out G's
/// region when the apps are defined, before any VM starts; two TCG domains map it as their ivshmem-plain device
/// and carry the agent channel and a NIC on an isolated network. The guests (packaging/guest-image/scenarios/two-apps.sh) fetch 1 MiB
/// through the engine, then — after this fixture switched the engine off — over the sealed path, then plain over
/// virtio-net. tcpdump records the bridge and both VMs' taps throughout. Finally vm2 is destroyed and the time until
/// its registration leaves engine-stat is taken. Everything is removed on dispose, pass or fail.
/// </summary>
public sealed class TwoVmEngineFixture : IAsyncLifetime
{
    public const string GroupCidr = "10.1.0.0/16";
    public const string ClientApp = "client", ServerApp = "server";
    public const string ClientAppIp = "10.1.0.1", ServerAppIp = "10.1.0.2";
    public const string Vm1Ip = "192.168.123.11", Vm2Ip = "192.168.123.12";
    public const int TransferBytes = 1 << 20;
    public const long RegionBytes = 16L << 20; // overlayd's default Engine:RegionSizeBytes
    public const string PlaintextMarker = "OVK-ENGINE-PLAINTEXT-7c2e-";
    public const string AgentArgs = "serve --control /run/oa.sock --state-dir /tmp/oa";
    /// <summary>The agent's registration round (EngineControlService.RefreshInterval): its heartbeat interval.</summary>
    public static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(5);
    public static readonly string[] ConsoleMarkers =
        ["overlaykvm-init: up ", "overlaykvm-init: starting overlay-agent", "vm-scenario: agent answering"];
    private static readonly string ImageDir = Path.Combine(GuestImage.CacheRoot, "e2e-engine");
    private static readonly TimeSpan PhaseTimeout = TimeSpan.FromSeconds(150);

    private readonly List<string> _narration = new();
    private readonly List<BridgeCapture> _captures = new();
    private LibvirtDaemons? _libvirt;
    private HostOverlayd? _daemon;
    private IsolatedNetwork? _network;
    private TestDomain? _vm1, _vm2;

    public string Group { get; } = "e2e" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
    public IReadOnlyList<string> Narration => _narration;
    internal Exception? Failure { get; private set; }
    internal string RegionPath => HostOverlayd.RegionPath(Group);

    /// <summary>`stat -c '%U %a %s'` of the region file and its first 8 bytes, taken after app-define, before any VM started.</summary>
    internal string RegionStatBeforeStart { get; private set; } = "";
    internal byte[] RegionMagicBeforeStart { get; private set; } = [];
    internal JsonElement EngineStatBeforeStart { get; private set; }
    internal JsonElement EngineStatRegistered { get; private set; }
    internal JsonElement EngineStatAfterEngine { get; private set; }
    internal JsonElement EngineStatAfterDestroy { get; private set; }
    internal string EngineStatTable { get; private set; } = "";
    internal string Vm1Serial { get; private set; } = "";
    internal string Vm2Serial { get; private set; } = "";
    internal Dictionary<string, TimeSpan> VirshStart { get; } = new();
    internal Dictionary<string, TimeSpan> StartToAck { get; } = new();
    internal Dictionary<string, TimeSpan> StartToRegistered { get; } = new();
    internal Dictionary<string, Dictionary<string, TimeSpan>> ConsoleTimes { get; } = new();
    /// <summary>Per capture (interface name): the raw pcap and its frames.</summary>
    internal Dictionary<string, (byte[] Raw, List<CapturedFrame> Frames)> Captures { get; } = new();
    internal string Bridge => _network?.Bridge ?? "";
    internal TimeSpan DestroyToReleased { get; private set; }
    internal string Vm2LibvirtName => _vm2?.Name ?? "";

    private void Log(string line) { lock (_narration) _narration.Add($"{DateTime.UtcNow:HH:mm:ss.fff} {line}"); }

    public async Task InitializeAsync()
    {
        try
        {
            await RunAsync();
        }
        catch (Exception e)
        {
            Failure = new InvalidOperationException(
                $"the two-VM engine scenario failed: {e.Message}\n--- vm1 serial ---\n{SerialLog.Tail(_vm1?.Serial.ReadAll() ?? "", 3000)}" +
                $"\n--- vm2 serial ---\n{SerialLog.Tail(_vm2?.Serial.ReadAll() ?? "", 3000)}\n--- overlayd ---\n{SerialLog.Tail(_daemon?.Log ?? "", 4000)}", e);
        }
    }

    private async Task RunAsync()
    {
        _libvirt = await LibvirtDaemons.EnsureAsync(Log);
        var agent = await AotAgent.PublishAsync(Log);
        // The same guest scenario the real-VM demo (scripts/demo.sh) runs.
        var script = Path.Combine(RepoPaths.Root, "packaging", "guest-image", "scenarios", "two-apps.sh");
        var image = await GuestImage.BuildAsync(ImageDir, agent, Log, [(script, "/bin/two-apps")]);

        _daemon = new HostOverlayd();
        _daemon.RegionFiles.Add(RegionPath);
        await _daemon.StartAsync();
        var ctl = new Overlayctl(_daemon.Socket);
        await ctl.OkAsync("group-define", Group, "--cidr", GroupCidr);
        await ctl.OkAsync("domain-define", "vm1", "--address", Vm1Ip);
        await ctl.OkAsync("domain-define", "vm2", "--address", Vm2Ip);
        await ctl.OkAsync("app-define", Group, ClientApp, "--domain", "vm1", "--address", ClientAppIp);
        await ctl.OkAsync("app-define", Group, ServerApp, "--domain", "vm2", "--address", ServerAppIp);
        await RecordRegionBeforeStartAsync(ctl);

        _network = await IsolatedNetwork.CreateAsync(Log);
        _vm1 = await DefineAsync(image, "vm1", Vm1Ip, "client", ClientApp, ClientAppIp, ServerAppIp, Vm2Ip);
        _vm2 = await DefineAsync(image, "vm2", Vm2Ip, "server", ServerApp, ServerAppIp, ClientAppIp, Vm1Ip);
        // The plain comparison (tcp/8081) carries the marker in clear by design: left out, so that every capture
        // holds only what the overlay and the phase marks put on the wire.
        StartCapture(_network.Bridge);

        var waits = new List<Task>();
        foreach (var (name, domain) in new[] { ("vm2", _vm2), ("vm1", _vm1) })
        {
            var watch = Stopwatch.StartNew();
            VirshStart[name] = await domain.StartAsync();
            StartCapture(await TapOfAsync(domain));
            waits.Add(WaitAckedAsync(ctl, name, watch));
            waits.Add(WaitRegisteredAsync(ctl, name, watch));
            waits.Add(WatchConsoleAsync(name, domain, watch));
        }
        await Task.WhenAll(waits);
        EngineStatRegistered = await ctl.JsonAsync("engine-stat");
        Log("both agents registered: " + EngineStatRegistered.GetRawText());

        await _vm1.Serial.WaitForLineAsync("vm-scenario: engine done", PhaseTimeout);
        EngineStatAfterEngine = await ctl.JsonAsync("engine-stat");
        EngineStatTable = await ctl.OkAsync("engine-stat");
        await ctl.OkAsync("engine-disable", Group);
        Log("engine switched off for " + Group);
        await _vm1.Serial.WaitForLineAsync("vm-scenario: client done", PhaseTimeout);
        foreach (var capture in _captures) await capture.WaitQuietAsync(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(15));
        foreach (var capture in _captures) Captures[capture.Interface] = capture.Stop();
        Vm1Serial = _vm1.Serial.ReadAll();
        Vm2Serial = _vm2.Serial.ReadAll();

        // Destroy vm2: QEMU goes, its channel closes, overlayd releases its slot.
        var destroy = Stopwatch.StartNew();
        await Virsh.RunAsync("destroy", _vm2.Name);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        JsonElement stat;
        while (SlotDomains(stat = await ctl.JsonAsync("engine-stat")).Contains("vm2"))
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"vm2's registration still in engine-stat 60 s after virsh destroy: {stat.GetRawText()}");
            await Task.Delay(100);
        }
        DestroyToReleased = destroy.Elapsed;
        EngineStatAfterDestroy = stat;
        Log($"vm2 destroyed; its registration left engine-stat after {DestroyToReleased.TotalSeconds:F2} s");
    }

    /// <summary>overlayd prepares the region when the apps are defined: the file must be there before any VM starts.</summary>
    private async Task RecordRegionBeforeStartAsync(Overlayctl ctl)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!File.Exists(RegionPath) && DateTime.UtcNow < deadline) await Task.Delay(50);
        if (!File.Exists(RegionPath))
            throw new InvalidOperationException($"overlayd did not create {RegionPath} within 10 s of app-define; its log:\n{_daemon!.Log}");
        var stat = await ProcessResult.RunAsync("stat", ["-c", "%U %a %s", RegionPath]);
        RegionStatBeforeStart = stat.Stdout.Trim();
        RegionMagicBeforeStart = ShmBackingFile.Read(Path.GetFileName(RegionPath), 0, 8);
        EngineStatBeforeStart = await ctl.JsonAsync("engine-stat");
        Log($"region {RegionPath} before any VM: {RegionStatBeforeStart}");
    }

    private async Task<TestDomain> DefineAsync(GuestImage image, string overlayName, string ip, string role, string app,
        string appIp, string peerApp, string peerIp)
    {
        var cmdline = $"overlaykvm.ip={ip}/24 overlaykvm.agent=\"{AgentArgs}\" overlaykvm.test=/bin/two-apps " +
            $"overlaykvm.role={role} overlaykvm.app={app} overlaykvm.appip={appIp} overlaykvm.peerapp={peerApp} " +
            $"overlaykvm.peerip={peerIp} overlaykvm.group={Group} overlaykvm.size={TransferBytes}";
        var domain = await TestDomain.DefineAsync(new TestDomainSpec(image)
        {
            ExtraCmdline = cmdline,
            NetworkName = _network!.Name,
            MemoryMiB = 384,
            ShmemMiB = (int)(RegionBytes >> 20),
            SharedShmemName = Path.GetFileName(RegionPath),
            AgentSocketPath = Path.Combine(_daemon!.ChannelDir, overlayName + ".agent.sock"),
        }, Log);
        Log($"{domain.Name} plays {overlayName} ({role}, eth0 {ip})");
        return domain;
    }

    private void StartCapture(string device) =>
        _captures.Add(BridgeCapture.Start(device, Path.Combine(_daemon!.Root, device + ".pcap"), "not tcp port 8081"));

    /// <summary>The host-side tap (vnetN) of the domain's NIC, from <c>virsh domiflist</c>.</summary>
    private static async Task<string> TapOfAsync(TestDomain domain)
    {
        var list = await Virsh.RunAsync("domiflist", domain.Name);
        foreach (var line in list.Split('\n'))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length >= 2 && fields[1] == "network" && fields[0] != "-") return fields[0];
        }
        throw new InvalidOperationException($"no tap device for {domain.Name} in 'virsh domiflist': {list}");
    }

    internal static List<string> SlotDomains(JsonElement engineStat)
    {
        var domains = new List<string>();
        foreach (var g in engineStat.GetProperty("groups").EnumerateArray())
            foreach (var s in g.GetProperty("slots").EnumerateArray())
                domains.Add(s.GetProperty("domain").GetString()!);
        domains.Sort(StringComparer.Ordinal);
        return domains;
    }

    private async Task WatchConsoleAsync(string name, TestDomain domain, Stopwatch sinceStart)
    {
        var seen = new Dictionary<string, TimeSpan>();
        lock (ConsoleTimes) ConsoleTimes[name] = seen;
        var deadline = DateTime.UtcNow + PhaseTimeout;
        while (seen.Count < ConsoleMarkers.Length && DateTime.UtcNow < deadline)
        {
            var text = domain.Serial.ReadAll();
            foreach (var marker in ConsoleMarkers)
                if (!seen.ContainsKey(marker) && text.Contains(marker, StringComparison.Ordinal)) seen[marker] = sinceStart.Elapsed;
            await Task.Delay(50);
        }
    }

    private async Task WaitAckedAsync(Overlayctl ctl, string domain, Stopwatch sinceStart)
    {
        var deadline = DateTime.UtcNow + PhaseTimeout;
        var last = "";
        while (DateTime.UtcNow < deadline)
        {
            var list = await ctl.JsonAsync("channel-list");
            last = list.GetRawText();
            foreach (var c in list.EnumerateArray())
            {
                if (c.GetProperty("domain").GetString() == domain && c.GetProperty("connected").GetBoolean()
                    && c.GetProperty("acknowledgedVersion").GetInt64() > 0)
                {
                    lock (StartToAck) StartToAck[domain] = sinceStart.Elapsed;
                    return;
                }
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"the agent of {domain} did not acknowledge a configuration within {PhaseTimeout.TotalSeconds} s: {last}");
    }

    /// <summary>Polls engine-stat until the domain holds a slot (its agent registered its app's address).</summary>
    private async Task WaitRegisteredAsync(Overlayctl ctl, string domain, Stopwatch sinceStart)
    {
        var deadline = DateTime.UtcNow + PhaseTimeout;
        JsonElement stat = default;
        while (DateTime.UtcNow < deadline)
        {
            stat = await ctl.JsonAsync("engine-stat");
            if (SlotDomains(stat).Contains(domain))
            {
                lock (StartToRegistered) StartToRegistered[domain] = sinceStart.Elapsed;
                return;
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"{domain} never registered with the engine within {PhaseTimeout.TotalSeconds} s: {stat.GetRawText()}");
    }

    public async Task DisposeAsync()
    {
        var failures = new List<Exception>();
        async Task Step(Func<ValueTask> step)
        {
            try { await step(); }
            catch (Exception e) { failures.Add(e); }
        }
        foreach (var capture in _captures) capture.Dispose();
        if (_vm1 is not null) await Step(_vm1.DisposeAsync);
        if (_vm2 is not null) await Step(_vm2.DisposeAsync);
        if (_network is not null) await Step(_network.DisposeAsync);
        if (_daemon is not null) await Step(_daemon.DisposeAsync);
        if (_libvirt is not null) await Step(_libvirt.DisposeAsync);
        if (failures.Count > 0) throw new AggregateException("cleanup of the two-VM engine scenario failed", failures);
    }
}
