using System.Diagnostics;
using System.Text.Json;
using OverlayKvm.Integration.Tests.Daemon;
using OverlayKvm.Integration.Tests.E2e;
using OverlayKvm.Integration.Tests.Harness;
using Xunit.Abstractions;

namespace OverlayKvm.Integration.Tests.Vm;

/// <summary>
/// What the two-VM scenarios share: libvirtd, the Native AOT agent and a guest image holding the guest scenario
/// (packaging/guest-image/scenarios/two-apps.sh as /bin/two-apps with its helpers, the same one the real-VM demo runs), a real
/// overlayd whose channel directory QEMU can bind in, the group with app client in vm1 and app server in vm2, an
/// isolated libvirt network, two TCG domains started vm2 first, the waits for their agents (console markers,
/// configuration acknowledged), and the cleanup of all of it on dispose, pass or fail. A scenario fixture runs the
/// part in between that differs (<see cref="RunAsync"/>) and says how its domains and daemon differ.
/// </summary>
public abstract class TwoVmFixture : IAsyncLifetime, IRecordedScenario
{
    public const string GroupCidr = "10.1.0.0/16";
    public const string ClientApp = "client", ServerApp = "server";
    public const string ClientAppIp = "10.1.0.1", ServerAppIp = "10.1.0.2";
    public const string Vm1Ip = "192.168.123.11", Vm2Ip = "192.168.123.12";
    public const string AgentArgs = "serve --control /run/oa.sock --state-dir /tmp/oa";
    public static readonly string[] ConsoleMarkers =
        ["overlaykvm-init: up ", "overlaykvm-init: starting overlay-agent", "vm-scenario: agent answering"];

    private readonly List<string> _narration = new();
    private readonly List<BridgeCapture> _captures = new();
    private readonly string _scenarioName, _imageDir;
    private readonly TimeSpan _bootTimeout;
    private readonly bool _timestampNarration;
    private readonly int _daemonLogTail;
    private LibvirtDaemons? _libvirt;
    private IsolatedNetwork? _network;

    /// <param name="scenarioName">How failures name the scenario ("two-VM engine scenario").</param>
    /// <param name="imageDir">The guest image's cache folder under <see cref="GuestImage.CacheRoot"/>.</param>
    /// <param name="bootTimeout">How long each domain may take from <c>virsh start</c> to its agent's acknowledgement.</param>
    private protected TwoVmFixture(string group, string scenarioName, string imageDir, TimeSpan bootTimeout,
        bool timestampNarration, int daemonLogTail)
    {
        Group = group;
        _scenarioName = scenarioName;
        _imageDir = Path.Combine(GuestImage.CacheRoot, imageDir);
        _bootTimeout = bootTimeout;
        _timestampNarration = timestampNarration;
        _daemonLogTail = daemonLogTail;
    }

    public string Group { get; }
    public IReadOnlyList<string> Narration => _narration;
    /// <summary>Set when the scenario could not run; every test then fails with it.</summary>
    internal Exception? Failure { get; private set; }
    internal string Vm1Serial { get; private set; } = "";
    internal string Vm2Serial { get; private set; } = "";
    internal Dictionary<string, TimeSpan> VirshStart { get; } = new();
    internal Dictionary<string, TimeSpan> StartToAck { get; } = new();
    /// <summary>Per domain: host-clock time from 'virsh start' until each of <see cref="ConsoleMarkers"/> first appeared.</summary>
    internal Dictionary<string, Dictionary<string, TimeSpan>> ConsoleTimes { get; } = new();
    internal string Bridge => _network?.Bridge ?? "";

    private protected DaemonProcess? Daemon { get; private set; }
    private protected TestDomain? Vm1 { get; private set; }
    private protected TestDomain? Vm2 { get; private set; }
    private protected string NetworkName => _network?.Name ?? throw new InvalidOperationException("no network yet");
    /// <summary>Region files the daemon made outside its own folder, removed after it is gone.</summary>
    private protected List<string> RegionFiles { get; } = new();
    /// <summary>An agent's acknowledgement counts from this configuration version on.</summary>
    private protected long AckVersionAtLeast { get; set; } = 1;

    /// <summary>For each test: prints the fixture's narration, then fails with <see cref="Failure"/> if the scenario did.</summary>
    public void ReportTo(ITestOutputHelper output)
    {
        foreach (var line in Narration) output.WriteLine("[fixture] " + line);
        if (Failure is not null) throw Failure;
    }

    private protected void Log(string line)
    {
        lock (_narration) _narration.Add(_timestampNarration ? $"{DateTime.UtcNow:HH:mm:ss.fff} {line}" : line);
    }

    public async Task InitializeAsync()
    {
        try
        {
            await RunAsync();
        }
        catch (Exception e)
        {
            // Kept for the tests to report (with the consoles and overlayd's log), rather than a bare fixture error.
            Failure = new InvalidOperationException(
                $"the {_scenarioName} failed: {e.Message}\n--- vm1 serial ---\n{SerialLog.Tail(Vm1?.Serial.ReadAll() ?? "", 3000)}" +
                $"\n--- vm2 serial ---\n{SerialLog.Tail(Vm2?.Serial.ReadAll() ?? "", 3000)}\n--- overlayd ---\n{SerialLog.Tail(Daemon?.Log ?? "", _daemonLogTail)}", e);
        }
    }

    /// <summary>The scenario: <see cref="PrepareAsync"/>, then what this fixture records.</summary>
    private protected abstract Task RunAsync();

    /// <summary>The daemon this scenario needs (not started yet).</summary>
    private protected abstract DaemonProcess CreateDaemon();

    /// <summary>Scenario arguments added to each domain's kernel command line (with a leading space).</summary>
    private protected abstract string ScenarioCmdline { get; }

    /// <summary>Domain settings beyond the shared ones (e.g. the engine region's shmem device).</summary>
    private protected virtual TestDomainSpec Configure(TestDomainSpec spec) => spec;

    /// <summary>Called right after a domain's <c>virsh start</c>, before the next one starts; adds waits of its own.</summary>
    private protected virtual Task AfterStartAsync(Overlayctl ctl, string name, TestDomain domain, Stopwatch sinceStart,
        List<Task> waits) => Task.CompletedTask;

    /// <summary>
    /// libvirtd, agent, image, overlayd with the group, domains and apps declared, the network and both domains
    /// defined (not started). Between this and <see cref="BootAsync"/> a scenario records its "before" state.
    /// </summary>
    private protected async Task<(Overlayctl Ctl, GuestImage Image)> PrepareAsync()
    {
        _libvirt = await LibvirtDaemons.EnsureAsync(Log);
        var agent = await AotAgent.PublishAsync(Log);
        var image = await GuestImage.BuildAsync(_imageDir, agent, Log, GuestScenario.Extras("two-apps"));

        Daemon = CreateDaemon();
        Daemon.AllowQemuIntoChannelDir();
        await Daemon.StartAsync();
        var ctl = new Overlayctl(Daemon.Socket);
        await ctl.OkAsync("group-define", Group, "--cidr", GroupCidr);
        await ctl.OkAsync("domain-define", "vm1", "--address", Vm1Ip);
        await ctl.OkAsync("domain-define", "vm2", "--address", Vm2Ip);
        await ctl.OkAsync("app-define", Group, ClientApp, "--domain", "vm1", "--address", ClientAppIp);
        await ctl.OkAsync("app-define", Group, ServerApp, "--domain", "vm2", "--address", ServerAppIp);
        return (ctl, image);
    }

    /// <summary>The isolated network and both domains (defined, not started).</summary>
    private protected async Task DefineDomainsAsync(GuestImage image)
    {
        _network = await IsolatedNetwork.CreateAsync(Log);
        Vm1 = await DefineAsync(image, "vm1", Vm1Ip, "client", ClientApp, ClientAppIp, ServerAppIp, Vm2Ip);
        Vm2 = await DefineAsync(image, "vm2", Vm2Ip, "server", ServerApp, ServerAppIp, ClientAppIp, Vm1Ip);
    }

    /// <summary>
    /// Starts vm2, then vm1, and waits until each one's console markers appeared and its agent acknowledged a
    /// configuration (plus the waits <see cref="AfterStartAsync"/> added).
    /// </summary>
    private protected async Task BootAsync(Overlayctl ctl)
    {
        var waits = new List<Task>();
        foreach (var (name, domain) in new[] { ("vm2", Vm2!), ("vm1", Vm1!) })
        {
            var watch = Stopwatch.StartNew();
            VirshStart[name] = await domain.StartAsync();
            await AfterStartAsync(ctl, name, domain, watch, waits);
            waits.Add(WaitAckedAsync(ctl, name, watch));
            waits.Add(WatchConsoleAsync(name, domain, watch));
        }
        await Task.WhenAll(waits);
    }

    /// <summary>A tcpdump (stopped on dispose if the scenario did not stop it), its file in the daemon's folder.</summary>
    private protected BridgeCapture StartCapture(string device, string fileName, string filter)
    {
        var capture = BridgeCapture.Start(device, Path.Combine(Daemon!.Root, fileName), filter);
        _captures.Add(capture);
        return capture;
    }

    private protected void RecordSerials()
    {
        Vm1Serial = Vm1!.Serial.ReadAll();
        Vm2Serial = Vm2!.Serial.ReadAll();
    }

    private async Task<TestDomain> DefineAsync(GuestImage image, string overlayName, string ip, string role, string app,
        string appIp, string peerApp, string peerIp)
    {
        var cmdline = $"overlaykvm.ip={ip}/24 overlaykvm.agent=\"{AgentArgs}\" overlaykvm.test=/bin/two-apps " +
            $"overlaykvm.role={role} overlaykvm.app={app} overlaykvm.appip={appIp} overlaykvm.peerapp={peerApp} " +
            $"overlaykvm.peerip={peerIp} overlaykvm.group={Group}{ScenarioCmdline}";
        var spec = new TestDomainSpec(image)
        {
            ExtraCmdline = cmdline,
            NetworkName = _network!.Name,
            MemoryMiB = 384,
            AgentSocketPath = Path.Combine(Daemon!.ChannelDir, overlayName + ".agent.sock"),
        };
        var domain = await TestDomain.DefineAsync(Configure(spec), Log);
        Log($"{domain.Name} plays {overlayName} ({role}, eth0 {ip})");
        return domain;
    }

    /// <summary>Records when each of <see cref="ConsoleMarkers"/> first shows on the console (polled every 50 ms).</summary>
    private async Task WatchConsoleAsync(string name, TestDomain domain, Stopwatch sinceStart)
    {
        var seen = new Dictionary<string, TimeSpan>();
        lock (ConsoleTimes) ConsoleTimes[name] = seen;
        var deadline = DateTime.UtcNow + _bootTimeout;
        while (seen.Count < ConsoleMarkers.Length && DateTime.UtcNow < deadline)
        {
            var text = domain.Serial.ReadAll();
            foreach (var marker in ConsoleMarkers)
                if (!seen.ContainsKey(marker) && text.Contains(marker, StringComparison.Ordinal)) seen[marker] = sinceStart.Elapsed;
            await Task.Delay(50);
        }
    }

    /// <summary>Waits until overlayd shows the domain's agent connected with the configuration acknowledged.</summary>
    private async Task WaitAckedAsync(Overlayctl ctl, string domain, Stopwatch sinceStart)
    {
        await ChannelAck.WaitAsync(ctl, domain, AckVersionAtLeast, _bootTimeout);
        lock (StartToAck) StartToAck[domain] = sinceStart.Elapsed;
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
        if (Vm1 is not null) await Step(Vm1.DisposeAsync);
        if (Vm2 is not null) await Step(Vm2.DisposeAsync);
        if (_network is not null) await Step(_network.DisposeAsync);
        if (Daemon is not null) await Step(Daemon.DisposeAsync);
        foreach (var file in RegionFiles)
            await Step(() => { File.Delete(file); return ValueTask.CompletedTask; });
        if (_libvirt is not null) await Step(_libvirt.DisposeAsync);
        if (failures.Count > 0) throw new AggregateException($"cleanup of the {_scenarioName} failed", failures);
    }
}
