using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using OverlayKvm.Integration.Tests.Daemon;
using OverlayKvm.Integration.Tests.E2e;
using OverlayKvm.Integration.Tests.Harness;

namespace OverlayKvm.Integration.Tests.Vm;

/// <summary>
/// Runs the engine-path scenario once for <see cref="TwoVmEnginePathTests"/> (issue 6, show 1, and the measurements):
/// a real overlayd whose engine regions live in the host's /dev/shm (where libvirt's ivshmem-plain looks for
/// &lt;shmem name&gt;, owned by libvirt-qemu, overlayd's default); group G (random name, so its region file
/// /dev/shm/overlaykvm-G is this run's alone) with app client in vm1 and app server in vm2; overlayd lays out G's
/// region when the apps are defined, before any VM starts; two TCG domains map it as their ivshmem-plain device
/// and carry the agent channel and a NIC on an isolated network. The guests (two-apps.sh, engine scenario) fetch
/// 1 MiB through the engine, then — after this fixture switched the engine off — over the sealed path, then plain
/// over virtio-net. tcpdump records the bridge and both VMs' taps throughout. Finally vm2 is destroyed and the time
/// until its registration leaves engine-stat is taken. The shared part is <see cref="TwoVmFixture"/>.
/// </summary>
public sealed class TwoVmEngineFixture : TwoVmFixture
{
    public const int TransferBytes = 1 << 20;
    public const long RegionBytes = 16L << 20; // overlayd's default Engine:RegionSizeBytes
    public const string PlaintextMarker = "OVK-ENGINE-PLAINTEXT-7c2e-";
    /// <summary>The agent's registration round (EngineControlService.RefreshInterval): its heartbeat interval.</summary>
    public static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(5);
    private const string EngineDirectory = "/dev/shm";
    private static readonly TimeSpan PhaseTimeout = TimeSpan.FromSeconds(150);

    public TwoVmEngineFixture()
        : base("e2e" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4)), "two-VM engine scenario", "e2e-engine",
            PhaseTimeout, timestampNarration: true, daemonLogTail: 4000)
    {
    }

    internal string RegionPath => Path.Combine(EngineDirectory, "overlaykvm-" + Group);

    /// <summary>`stat -c '%U %a %s'` of the region file and its first 8 bytes, taken after app-define, before any VM started.</summary>
    internal string RegionStatBeforeStart { get; private set; } = "";
    internal byte[] RegionMagicBeforeStart { get; private set; } = [];
    internal JsonElement EngineStatBeforeStart { get; private set; }
    internal JsonElement EngineStatRegistered { get; private set; }
    internal JsonElement EngineStatAfterEngine { get; private set; }
    internal JsonElement EngineStatAfterDestroy { get; private set; }
    internal string EngineStatTable { get; private set; } = "";
    internal Dictionary<string, TimeSpan> StartToRegistered { get; } = new();
    /// <summary>Per capture (interface name): the raw pcap and its frames.</summary>
    internal Dictionary<string, (byte[] Raw, List<CapturedFrame> Frames)> Captures { get; } = new();
    internal TimeSpan DestroyToReleased { get; private set; }
    /// <summary>engine-stat once both agents held a slot again after the region was scribbled over (or at the deadline).</summary>
    internal JsonElement EngineStatAfterScribble { get; private set; }
    /// <summary>From the end of the scribbling to both slots held again; null if that never happened.</summary>
    internal TimeSpan? ScribbleToReregistered { get; private set; }
    internal string Vm2LibvirtName => Vm2?.Name ?? "";

    private readonly List<BridgeCapture> _captures = new();

    private protected override string ScenarioCmdline => $" overlaykvm.size={TransferBytes}";

    private protected override DaemonProcess CreateDaemon()
    {
        RegionFiles.Add(RegionPath);
        return new DaemonProcess(EngineDirectory);
    }

    private protected override TestDomainSpec Configure(TestDomainSpec spec) =>
        spec with { ShmemMiB = (int)(RegionBytes >> 20), SharedShmemName = Path.GetFileName(RegionPath) };

    private protected override async Task RunAsync()
    {
        var (ctl, image) = await PrepareAsync();
        await RecordRegionBeforeStartAsync(ctl);

        await DefineDomainsAsync(image);
        // The plain comparison (tcp/8081) carries the marker in clear by design: left out, so that every capture
        // holds only what the overlay and the phase marks put on the wire.
        StartCapture(Bridge);

        await BootAsync(ctl);
        EngineStatRegistered = await ctl.JsonAsync("engine-stat");
        Log("both agents registered: " + EngineStatRegistered.GetRawText());

        await Vm1!.Serial.WaitForLineAsync("vm-scenario: engine done", PhaseTimeout);
        EngineStatAfterEngine = await ctl.JsonAsync("engine-stat");
        EngineStatTable = await ctl.OkAsync("engine-stat");
        await ctl.OkAsync("engine-disable", Group);
        Log("engine switched off for " + Group);
        await Vm1.Serial.WaitForLineAsync("vm-scenario: client done", PhaseTimeout);
        foreach (var capture in _captures) await capture.WaitQuietAsync(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(15));
        foreach (var capture in _captures) Captures[capture.Interface] = capture.Stop();
        RecordSerials();
        await ScribbleAndWaitReregisteredAsync(ctl);

        // Destroy vm2: QEMU goes, its channel closes, overlayd releases its slot.
        var destroy = Stopwatch.StartNew();
        await Virsh.RunAsync("destroy", Vm2!.Name);
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

    /// <summary>
    /// Issue 14 item 11, on real VMs: with the engine on again, random bytes go all over the region for 10 s (the
    /// file is QEMU's backing store, so both guests see them through their BAR). Each agent must notice, detach and
    /// register again by itself: afterwards engine-stat holds a slot for both VMs on a valid header.
    /// </summary>
    private async Task ScribbleAndWaitReregisteredAsync(Overlayctl ctl)
    {
        await ctl.OkAsync("engine-enable", Group);
        int writes = await RegionScribbler.ScribbleAsync(RegionPath, TimeSpan.FromSeconds(10));
        Log($"scribbled {writes} times over {RegionPath} for 10 s");
        var sinceScribble = Stopwatch.StartNew();
        var deadline = DateTime.UtcNow + PhaseTimeout;
        JsonElement stat;
        while (!BothRegisteredOnValidHeader(stat = await ctl.JsonAsync("engine-stat")))
        {
            if (DateTime.UtcNow > deadline)
            {
                EngineStatAfterScribble = stat;
                Log($"after the scribbling, both VMs did not hold a slot on a valid header within {PhaseTimeout.TotalSeconds} s: {stat.GetRawText()}");
                return;
            }

            await Task.Delay(200);
        }

        EngineStatAfterScribble = stat;
        ScribbleToReregistered = sinceScribble.Elapsed;
        Log($"both agents registered again {sinceScribble.Elapsed.TotalSeconds:F2} s after the scribbling stopped: {stat.GetRawText()}");
    }

    private bool BothRegisteredOnValidHeader(JsonElement stat)
    {
        foreach (var g in stat.GetProperty("groups").EnumerateArray())
        {
            if (g.GetProperty("group").GetString() == Group)
            {
                var domains = SlotDomains(stat);
                return g.GetProperty("headerStatus").GetString() == "Valid" && domains.Contains("vm1") && domains.Contains("vm2");
            }
        }

        return false;
    }

    /// <summary>Each started domain's tap is captured too, and the domain must register with the engine.</summary>
    private protected override async Task AfterStartAsync(Overlayctl ctl, string name, TestDomain domain, Stopwatch sinceStart,
        List<Task> waits)
    {
        StartCapture(await TapOfAsync(domain));
        waits.Add(WaitRegisteredAsync(ctl, name, sinceStart));
    }

    /// <summary>overlayd prepares the region when the apps are defined: the file must be there before any VM starts.</summary>
    private async Task RecordRegionBeforeStartAsync(Overlayctl ctl)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!File.Exists(RegionPath) && DateTime.UtcNow < deadline) await Task.Delay(50);
        if (!File.Exists(RegionPath))
            throw new InvalidOperationException($"overlayd did not create {RegionPath} within 10 s of app-define; its log:\n{Daemon!.Log}");
        var stat = await ProcessResult.RunAsync("stat", ["-c", "%U %a %s", RegionPath]);
        RegionStatBeforeStart = stat.Stdout.Trim();
        RegionMagicBeforeStart = ShmBackingFile.Read(Path.GetFileName(RegionPath), 0, 8);
        EngineStatBeforeStart = await ctl.JsonAsync("engine-stat");
        Log($"region {RegionPath} before any VM: {RegionStatBeforeStart}");
    }

    private void StartCapture(string device) => _captures.Add(StartCapture(device, device + ".pcap", "not tcp port 8081"));

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
}
