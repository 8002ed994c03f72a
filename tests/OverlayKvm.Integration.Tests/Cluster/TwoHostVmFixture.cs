using System.Text.Json;
using OverlayKvm.Integration.Tests.Harness;
using OverlayKvm.Integration.Tests.Vm;
using Xunit.Abstractions;

namespace OverlayKvm.Integration.Tests.Cluster;

/// <summary>
/// Runs issue 11's real-VM scenario once for <see cref="TwoHostVmTests"/> on a <see cref="TwoHostVmTopology"/>:
/// a tcpdump on the underlay bridge from before the VMs start, the three VMs booted at once, then vm1 fetches vm2's
/// file (other host: sealed) and vm3's (same host: the engine). Records the consoles, the capture, host A's
/// engine-stat, both hosts' channel-list and host-list, and route-explain; the tests assert on what was recorded.
/// </summary>
public sealed class TwoHostVmFixture : IAsyncLifetime, IRecordedScenario
{
    /// <summary>4 MiB, not the namespace test's 16: the sealed path under TCG on a shared 2-core machine runs at a few MB/s.</summary>
    public const int TransferBytes = 4 << 20;
    private static readonly TimeSpan BootTimeout = TimeSpan.FromSeconds(300);
    private static readonly TimeSpan ScenarioTimeout = TimeSpan.FromSeconds(300);

    private readonly List<string> _narration = [];
    private TwoHostVmTopology? _topology;
    private BridgeCapture? _capture;

    internal Exception? Failure { get; private set; }
    internal TwoHostVmTopology Topology => _topology ?? throw new InvalidOperationException("the topology did not start");
    internal Dictionary<string, string> Serials { get; } = new(StringComparer.Ordinal);
    internal byte[] CaptureRaw { get; private set; } = [];
    internal List<CapturedFrame> CaptureFrames { get; private set; } = [];
    internal JsonElement EngineStatA { get; private set; }
    internal JsonElement ChannelListA { get; private set; }
    internal JsonElement ChannelListB { get; private set; }
    internal JsonElement HostList { get; private set; }
    internal JsonElement RouteFar { get; private set; }
    internal JsonElement RouteNear { get; private set; }
    internal string RouteTables { get; private set; } = "";
    internal TimeSpan BootTime { get; private set; }

    /// <summary>For each test: prints the narration, then fails with the scenario's failure if it had one.</summary>
    public void ReportTo(ITestOutputHelper output)
    {
        lock (_narration)
            foreach (var line in _narration) output.WriteLine("[fixture] " + line);
        if (Failure is not null) throw Failure;
    }

    private void Log(string line)
    {
        lock (_narration) _narration.Add($"{DateTime.UtcNow:HH:mm:ss.fff} {line}");
    }

    public async Task InitializeAsync()
    {
        try
        {
            await RunAsync();
        }
        catch (Exception e)
        {
            // Kept for the tests to report with the consoles and both overlayds' logs, rather than a bare fixture error.
            Failure = new InvalidOperationException($"the two-host VM scenario failed: {e.Message}\n{_topology?.Logs()}", e);
        }
    }

    private async Task RunAsync()
    {
        _topology = await TwoHostVmTopology.CreateAsync(TransferBytes, Log);
        var t = _topology;
        _capture = BridgeCapture.Start(t.Underlay.Name, Path.Combine(t.Work, "underlay.pcap"), "");

        var boot = System.Diagnostics.Stopwatch.StartNew();
        await t.BootAsync(BootTimeout);
        BootTime = boot.Elapsed;
        ChannelListA = await t.CtlA.JsonAsync("channel-list");
        ChannelListB = await t.CtlB.JsonAsync("channel-list");
        HostList = await t.CtlA.JsonAsync("host-list");

        await t.Domains[TwoHostVmTopology.Vm1].Serial.WaitForLineAsync("vm-scenario: client done", ScenarioTimeout);
        Log("vm1: client done");
        await _capture.WaitQuietAsync(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(15));
        (CaptureRaw, CaptureFrames) = _capture.Stop();
        EngineStatA = await t.CtlA.JsonAsync("engine-stat");

        string client = $"{TwoHostVmTopology.Group}/{TwoHostVmTopology.ClientApp}";
        RouteFar = await t.CtlA.JsonAsync("route-explain", client, $"{TwoHostVmTopology.Group}/{TwoHostVmTopology.ServerApp}");
        RouteNear = await t.CtlA.JsonAsync("route-explain", client, $"{TwoHostVmTopology.Group}/{TwoHostVmTopology.NearApp}");
        RouteTables = await t.CtlA.OkAsync("route-explain", client, $"{TwoHostVmTopology.Group}/{TwoHostVmTopology.ServerApp}")
            + await t.CtlA.OkAsync("route-explain", client, $"{TwoHostVmTopology.Group}/{TwoHostVmTopology.NearApp}");
        foreach (var (vm, domain) in t.Domains) Serials[vm] = domain.Serial.ReadAll();
    }

    public async Task DisposeAsync()
    {
        _capture?.Dispose();
        if (_topology is not null) await _topology.DisposeAsync();
    }
}
