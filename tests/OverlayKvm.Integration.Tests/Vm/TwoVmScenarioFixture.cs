using System.Diagnostics;
using System.Text.Json;
using OverlayKvm.Integration.Tests.Daemon;
using OverlayKvm.Integration.Tests.E2e;
using OverlayKvm.Integration.Tests.Harness;

namespace OverlayKvm.Integration.Tests.Vm;

/// <summary>
/// Runs the two-VM scenario once for the tests of <see cref="TwoVmSealedPathTests"/>: publishes the agent with
/// Native AOT, builds the guest image with it and the guest scenario (Vm/guest-scenario.sh), starts a real
/// overlayd, declares group web, domains vm1/vm2 and apps client/server with overlayctl, and boots two TCG
/// domains on an isolated libvirt network whose agent channel sockets QEMU binds in overlayd's channel
/// directory. The scenario inside the guests serves and fetches with busybox httpd/wget (plain on eth0, then
/// over the overlay); a tcpdump on the bridge records the overlay phase. The tests assert on what was recorded.
/// Everything created here (domains, network, daemon, capture, files) is removed on dispose, pass or fail.
/// </summary>
public sealed class TwoVmScenarioFixture : IAsyncLifetime
{
    public const string Group = "web";
    public const string GroupCidr = "10.1.0.0/16";
    public const string ClientApp = "client", ServerApp = "server";
    public const string ClientAppIp = "10.1.0.1", ServerAppIp = "10.1.0.2";
    public const string Vm1Ip = "192.168.123.11", Vm2Ip = "192.168.123.12";
    public const int TransferBytes = 2 << 20;
    public const string PlaintextMarker = "OVK-PLAINTEXT-MARKER";
    public const string AgentArgs = "serve --control /run/oa.sock --state-dir /tmp/oa";
    private static readonly string ImageDir = Path.Combine(GuestImage.CacheRoot, "e2e-vm");
    private static readonly TimeSpan ScenarioTimeout = TimeSpan.FromSeconds(120);

    private readonly List<string> _narration = new();
    private LibvirtDaemons? _libvirt;
    private DaemonProcess? _daemon;
    private IsolatedNetwork? _network;
    private TestDomain? _vm1, _vm2;
    private BridgeCapture? _capture, _baseline;

    public IReadOnlyList<string> Narration => _narration;
    internal string Vm1Serial { get; private set; } = "";
    internal string Vm2Serial { get; private set; } = "";
    internal string ChannelListTable { get; private set; } = "";
    internal JsonElement ChannelListJson { get; private set; }
    internal long ConfigVersion { get; private set; }
    internal Dictionary<string, TimeSpan> StartToAck { get; } = new();
    internal Dictionary<string, TimeSpan> VirshStart { get; } = new();
    internal byte[] CaptureRaw { get; private set; } = [];
    internal List<CapturedFrame> CaptureFrames { get; private set; } = new();
    internal byte[] BaselineRaw { get; private set; } = [];
    internal List<CapturedFrame> BaselineFrames { get; private set; } = new();
    /// <summary>Per domain: host-clock time from 'virsh start' until a console line first appeared.</summary>
    internal Dictionary<string, Dictionary<string, TimeSpan>> ConsoleTimes { get; } = new();
    public static readonly string[] ConsoleMarkers =
        ["overlaykvm-init: up ", "overlaykvm-init: starting overlay-agent", "vm-scenario: agent answering"];
    internal string Bridge => _network?.Bridge ?? "";
    /// <summary>Set when the scenario could not run; every test then fails with it.</summary>
    internal Exception? Failure { get; private set; }

    private void Log(string line) { lock (_narration) _narration.Add(line); }

    public async Task InitializeAsync()
    {
        try
        {
            await RunScenarioAsync();
        }
        catch (Exception e)
        {
            // Kept for the tests to report (with the consoles and overlayd's log), rather than a bare fixture error.
            Failure = new InvalidOperationException(
                $"the two-VM scenario failed: {e.Message}\n--- vm1 serial ---\n{SerialLog.Tail(_vm1?.Serial.ReadAll() ?? "", 3000)}" +
                $"\n--- vm2 serial ---\n{SerialLog.Tail(_vm2?.Serial.ReadAll() ?? "", 3000)}\n--- overlayd ---\n{SerialLog.Tail(_daemon?.Log ?? "", 3000)}", e);
        }
    }

    private async Task RunScenarioAsync()
    {
        _libvirt = await LibvirtDaemons.EnsureAsync(Log);
        var agent = await AotAgent.PublishAsync(Log);
        var scenario = Path.Combine(RepoPaths.Root, "tests", "OverlayKvm.Integration.Tests", "Vm", "guest-scenario.sh");
        var image = await GuestImage.BuildAsync(ImageDir, agent, Log, [(scenario, "/bin/vm-scenario")]);

        _daemon = new DaemonProcess();
        // QEMU (libvirt's qemu user) binds the channel sockets in overlayd's channel directory.
        Directory.CreateDirectory(_daemon.ChannelDir);
        const UnixFileMode Mode0755 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;
        // The daemon's folder only needs to be traversable (it holds the store and the admin socket).
        File.SetUnixFileMode(_daemon.Root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        File.SetUnixFileMode(_daemon.ChannelDir, Mode0755);
        await _daemon.StartAsync();
        var ctl = new Overlayctl(_daemon.Socket);
        await ctl.OkAsync("group-define", Group, "--cidr", GroupCidr);
        await ctl.OkAsync("domain-define", "vm1", "--address", Vm1Ip);
        await ctl.OkAsync("domain-define", "vm2", "--address", Vm2Ip);
        await ctl.OkAsync("app-define", Group, ClientApp, "--domain", "vm1", "--address", ClientAppIp);
        await ctl.OkAsync("app-define", Group, ServerApp, "--domain", "vm2", "--address", ServerAppIp);
        ConfigVersion = (await ctl.JsonAsync("domain-config", "vm1")).GetProperty("version").GetInt64();

        _network = await IsolatedNetwork.CreateAsync(Log);
        _vm1 = await DefineAsync(image, "vm1", Vm1Ip, "client", ClientApp, ClientAppIp, ServerAppIp, Vm2Ip);
        _vm2 = await DefineAsync(image, "vm2", Vm2Ip, "server", ServerApp, ServerAppIp, ClientAppIp, Vm1Ip);

        // Port 8081 carries the plain baseline transfer (the marker in clear, by design): left out of the capture,
        // which must then hold only the overlay's traffic and the clear "done" signal on 9999.
        _capture = BridgeCapture.Start(_network.Bridge, Path.Combine(_daemon.Root, "bridge.pcap"), "not tcp port 8081");
        // The baseline in its own file, for its host-clock duration only.
        _baseline = BridgeCapture.Start(_network.Bridge, Path.Combine(_daemon.Root, "baseline.pcap"), "tcp port 8081");

        var acks = new List<Task>();
        foreach (var (name, domain) in new[] { ("vm2", _vm2), ("vm1", _vm1) })
        {
            var watch = Stopwatch.StartNew();
            VirshStart[name] = await domain.StartAsync();
            acks.Add(WaitAckedAsync(ctl, name, watch));
            acks.Add(WatchConsoleAsync(name, domain, watch));
        }
        await Task.WhenAll(acks);
        ChannelListTable = await ctl.OkAsync("channel-list");
        ChannelListJson = await ctl.JsonAsync("channel-list");

        await _vm2.Serial.WaitForLineAsync("vm-scenario: server done", ScenarioTimeout);
        await _vm1.Serial.WaitForLineAsync("vm-scenario: client done", TimeSpan.FromSeconds(30));
        (CaptureRaw, CaptureFrames) = _capture.Stop();
        (BaselineRaw, BaselineFrames) = _baseline.Stop();
        Vm1Serial = _vm1.Serial.ReadAll();
        Vm2Serial = _vm2.Serial.ReadAll();
    }

    private async Task<TestDomain> DefineAsync(GuestImage image, string overlayName, string ip, string role, string app,
        string appIp, string peerApp, string peerIp)
    {
        var cmdline = $"overlaykvm.ip={ip}/24 overlaykvm.agent=\"{AgentArgs}\" overlaykvm.test=/bin/vm-scenario " +
            $"overlaykvm.role={role} overlaykvm.app={app} overlaykvm.appip={appIp} overlaykvm.peerapp={peerApp} " +
            $"overlaykvm.peerip={peerIp} overlaykvm.size={TransferBytes}";
        var domain = await TestDomain.DefineAsync(new TestDomainSpec(image)
        {
            ExtraCmdline = cmdline,
            NetworkName = _network!.Name,
            MemoryMiB = 384,
            AgentSocketPath = Path.Combine(_daemon!.ChannelDir, overlayName + ".agent.sock"),
        }, Log);
        Log($"{domain.Name} plays {overlayName} ({role}, eth0 {ip})");
        return domain;
    }

    /// <summary>Records when each of <see cref="ConsoleMarkers"/> first shows on the console (polled every 50 ms).</summary>
    private async Task WatchConsoleAsync(string name, TestDomain domain, Stopwatch sinceStart)
    {
        var seen = new Dictionary<string, TimeSpan>();
        lock (ConsoleTimes) ConsoleTimes[name] = seen;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
        while (seen.Count < ConsoleMarkers.Length && DateTime.UtcNow < deadline)
        {
            var text = domain.Serial.ReadAll();
            foreach (var marker in ConsoleMarkers)
            {
                if (!seen.ContainsKey(marker) && text.Contains(marker, StringComparison.Ordinal)) seen[marker] = sinceStart.Elapsed;
            }
            await Task.Delay(50);
        }
    }

    /// <summary>Polls overlayd until the domain's agent is connected and has acknowledged the configuration.</summary>
    private async Task WaitAckedAsync(Overlayctl ctl, string domain, Stopwatch sinceStart)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
        var last = "";
        while (DateTime.UtcNow < deadline)
        {
            var list = await ctl.JsonAsync("channel-list");
            last = list.GetRawText();
            foreach (var c in list.EnumerateArray())
            {
                if (c.GetProperty("domain").GetString() == domain && c.GetProperty("connected").GetBoolean()
                    && c.GetProperty("acknowledgedVersion").GetInt64() >= ConfigVersion)
                {
                    StartToAck[domain] = sinceStart.Elapsed;
                    return;
                }
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"the agent of {domain} did not acknowledge configuration version {ConfigVersion} within 120 s: {last}");
    }

    public async Task DisposeAsync()
    {
        var failures = new List<Exception>();
        async Task Step(Func<ValueTask> step)
        {
            try { await step(); }
            catch (Exception e) { failures.Add(e); }
        }
        _capture?.Dispose();
        _baseline?.Dispose();
        if (_vm1 is not null) await Step(_vm1.DisposeAsync);
        if (_vm2 is not null) await Step(_vm2.DisposeAsync);
        if (_network is not null) await Step(_network.DisposeAsync);
        if (_daemon is not null) await Step(_daemon.DisposeAsync);
        if (_libvirt is not null) await Step(_libvirt.DisposeAsync);
        if (failures.Count > 0) throw new AggregateException("cleanup of the two-VM scenario failed", failures);
    }
}
