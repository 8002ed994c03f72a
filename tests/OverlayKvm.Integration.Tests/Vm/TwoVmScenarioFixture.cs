using System.Text.Json;
using OverlayKvm.Integration.Tests.Daemon;
using OverlayKvm.Integration.Tests.E2e;
using OverlayKvm.Integration.Tests.Harness;

namespace OverlayKvm.Integration.Tests.Vm;

/// <summary>
/// Runs the two-VM sealed-path scenario once for the tests of <see cref="TwoVmSealedPathTests"/>: a real overlayd
/// (engine regions in its private folder: QEMU maps none, the domains get a private ivshmem region each), group web
/// with apps client/server, two TCG domains on an isolated libvirt network whose agent channel sockets QEMU binds in
/// overlayd's channel directory. The guests (two-apps.sh, sealed scenario) serve and fetch with busybox httpd/wget,
/// plain on eth0, then over the overlay; a tcpdump on the bridge records the overlay phase, another the plain
/// baseline. The tests assert on what was recorded. The shared part is <see cref="TwoVmFixture"/>.
/// </summary>
public sealed class TwoVmScenarioFixture : TwoVmFixture
{
    public const int TransferBytes = 2 << 20;
    public const string PlaintextMarker = "OVK-PLAINTEXT-MARKER";
    private static readonly TimeSpan ScenarioTimeout = TimeSpan.FromSeconds(120);

    public TwoVmScenarioFixture()
        : base("web", "two-VM scenario", "e2e-vm", ScenarioTimeout, timestampNarration: false, daemonLogTail: 3000)
    {
    }

    internal string ChannelListTable { get; private set; } = "";
    internal JsonElement ChannelListJson { get; private set; }
    internal long ConfigVersion { get; private set; }
    internal byte[] CaptureRaw { get; private set; } = [];
    internal List<CapturedFrame> CaptureFrames { get; private set; } = new();
    internal byte[] BaselineRaw { get; private set; } = [];
    internal List<CapturedFrame> BaselineFrames { get; private set; } = new();

    private protected override string ScenarioCmdline => $" overlaykvm.size={TransferBytes} overlaykvm.scenario=sealed";

    private protected override DaemonProcess CreateDaemon() => new();

    private protected override async Task RunAsync()
    {
        var (ctl, image) = await PrepareAsync();
        ConfigVersion = (await ctl.JsonAsync("domain-config", "vm1")).GetProperty("version").GetInt64();
        AckVersionAtLeast = ConfigVersion;

        await DefineDomainsAsync(image);
        // Port 8081 carries the plain baseline transfer (the marker in clear, by design): left out of the capture,
        // which must then hold only the overlay's traffic and the clear "done" signal on 9999.
        var capture = StartCapture(Bridge, "bridge.pcap", "not tcp port 8081");
        // The baseline in its own file, for its host-clock duration only.
        var baseline = StartCapture(Bridge, "baseline.pcap", "tcp port 8081");

        await BootAsync(ctl);
        ChannelListTable = await ctl.OkAsync("channel-list");
        ChannelListJson = await ctl.JsonAsync("channel-list");

        await Vm2!.Serial.WaitForLineAsync("vm-scenario: server done", ScenarioTimeout);
        await Vm1!.Serial.WaitForLineAsync("vm-scenario: client done", TimeSpan.FromSeconds(30));
        (CaptureRaw, CaptureFrames) = capture.Stop();
        (BaselineRaw, BaselineFrames) = baseline.Stop();
        RecordSerials();
    }
}
