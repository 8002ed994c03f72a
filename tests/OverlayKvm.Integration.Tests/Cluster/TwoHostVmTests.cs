using System.Globalization;
using System.Text;
using System.Text.Json;
using OverlayKvm.Integration.Tests.Harness;
using OverlayKvm.Integration.Tests.Migration;
using OverlayKvm.Integration.Tests.Vm;
using Xunit.Abstractions;
using static OverlayKvm.Integration.Tests.Vm.ScenarioConsole;
using T = OverlayKvm.Integration.Tests.Cluster.TwoHostVmTopology;

namespace OverlayKvm.Integration.Tests.Cluster;

/// <summary>
/// Issue 11's real-VM test: two libvirtd instances act as two hosts of one etcd cluster; vm1 (host A) reaches vm2
/// (host B) sealed over the underlay and vm3 (host A) through host A's engine, with the same SHA-256; route-explain
/// names the hosts and the paths. The scenario runs once in <see cref="TwoHostVmFixture"/>; each test asserts on one
/// part of what it recorded.
/// </summary>
[Collection(LibvirtHostsCollection.Name)]
public sealed class TwoHostVmTests(TwoHostVmFixture fixture, ITestOutputHelper output)
    : RecordedScenarioTests<TwoHostVmFixture>(fixture, output), IClassFixture<TwoHostVmFixture>
{
    // Phase marks: SYNs from vm1's eth0 to closed ports of the peer's (packaging/guest-image/scenarios/cluster-apps.sh).
    private const int EngineBegin = 9981, EngineEnd = 9982, SealedBegin = 9983, SealedEnd = 9984;
    private const int OverlayPort = 7480;

    [Fact]
    public void Agents_EachOnItsOwnHost_AcknowledgedTheirDocuments_HostListShowsBothAlive()
    {
        Output.WriteLine($"three VMs booted at once: configuration acknowledged by all after {Fx.BootTime.TotalSeconds:F1} s");
        foreach (var (vm, took) in Fx.Topology.StartToAck) Output.WriteLine($"  {vm}: {took.TotalSeconds:F1} s from virsh start");
        Assert.Equal([T.Vm1, T.Vm3], Connected(Fx.ChannelListA));
        Assert.Equal([T.Vm2], Connected(Fx.ChannelListB));
        Output.WriteLine(Fx.HostList.GetRawText());
        var alive = new List<string>();
        foreach (var h in Fx.HostList.EnumerateArray())
            if (h.GetProperty("alive").GetBoolean()) alive.Add(h.GetProperty("name").GetString()!);
        alive.Sort(StringComparer.Ordinal);
        Assert.Equal([T.HostA, T.HostB], alive);
        foreach (var vm in new[] { T.Vm1, T.Vm2, T.Vm3 })
            Assert.Contains("overlaykvm-init: starting overlay-agent " + T.AgentArgs, Fx.Serials[vm]);
    }

    [Fact]
    public void Vm1ToVm2_AcrossHosts_SealedOverTheUnderlay_OnlyUdpBetweenVmAddresses_SameSha256()
    {
        foreach (var l in Lines(Fx.Serials[T.Vm1])) Output.WriteLine("vm1: " + l);
        var payload = Field(Line(Fx.Serials[T.Vm2], "vm-scenario: payload "), "sha256");
        var sealedLine = Line(Fx.Serials[T.Vm1], "vm-scenario: sealed rc=");
        Assert.Equal("0", Field(sealedLine, "rc"));
        Assert.Equal(TwoHostVmFixture.TransferBytes.ToString(CultureInfo.InvariantCulture), Field(sealedLine, "bytes"));
        Assert.Equal(payload, Field(sealedLine, "sha256"));
        Assert.True(AgentBytesIn("sealed") >= TwoHostVmFixture.TransferBytes, $"vm1's agent received only {AgentBytesIn("sealed")} bytes on the sealed path");

        var vms = new HashSet<string> { T.Vm1Ip, T.Vm2Ip, T.Vm3Ip };
        long vm1Vm2Udp = 0;
        var kinds = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (var f in Fx.CaptureFrames)
        {
            var kind = f.EtherType == 0x0800 ? $"ipv4 proto {f.Protocol}" : $"ethertype 0x{f.EtherType:x4}";
            kinds[kind] = kinds.GetValueOrDefault(kind) + 1;
            if (f.EtherType != 0x0800) continue;
            // The guests' kernels announce multicast membership (IGMP to 224.0.0.x): link-local control, no data.
            if (f.Protocol == 2 && f.Destination!.StartsWith("224.0.0.", StringComparison.Ordinal)) continue;
            Assert.True(vms.Contains(f.Source!) && vms.Contains(f.Destination!), $"a frame between {f.Source} and {f.Destination} on the underlay");
            var (tcpSrc, tcpDst) = PcapTiming.TcpPorts(f);
            if (f.Protocol == 6)
            {
                // Only the scenario's phase marks (a SYN to a closed port and its RST) are TCP on the wire.
                Assert.True(tcpDst is >= EngineBegin and <= SealedEnd || tcpSrc is >= EngineBegin and <= SealedEnd,
                    $"TCP {f.Source}:{tcpSrc} -> {f.Destination}:{tcpDst} in clear on the underlay");
                continue;
            }
            Assert.True(f.Protocol == 17, $"IPv4 protocol {f.Protocol} between {f.Source} and {f.Destination} on the underlay");
            Assert.True(f.SourcePort == OverlayPort || f.DestinationPort == OverlayPort, $"UDP {f.SourcePort}->{f.DestinationPort} is not the overlay port {OverlayPort}");
            if ((f.Source, f.Destination) is (T.Vm1Ip, T.Vm2Ip) or (T.Vm2Ip, T.Vm1Ip)) vm1Vm2Udp += f.UdpPayload.Length;
        }
        foreach (var (kind, n) in kinds) Output.WriteLine($"  underlay {kind}: {n}");
        Output.WriteLine($"sealed UDP payload between vm1 and vm2: {vm1Vm2Udp} bytes");
        Assert.True(vm1Vm2Udp >= TwoHostVmFixture.TransferBytes, $"only {vm1Vm2Udp} bytes of UDP between vm1 and vm2 on the underlay for {TwoHostVmFixture.TransferBytes}");
        Assert.DoesNotContain(T.PlaintextMarker, Encoding.Latin1.GetString(Fx.CaptureRaw));
    }

    [Fact]
    public void Vm1ToVm3_OnHostA_ThroughTheEngine_NoUnderlayFrames_CountersRise_SameSha256()
    {
        var sealedSha = Field(Line(Fx.Serials[T.Vm1], "vm-scenario: sealed rc="), "sha256");
        var engine = Line(Fx.Serials[T.Vm1], "vm-scenario: engine rc=");
        Assert.Equal("0", Field(engine, "rc"));
        Assert.Equal(TwoHostVmFixture.TransferBytes.ToString(CultureInfo.InvariantCulture), Field(engine, "bytes"));
        Assert.Equal(Field(Line(Fx.Serials[T.Vm3], "vm-scenario: payload "), "sha256"), Field(engine, "sha256"));
        Assert.Equal(sealedSha, Field(engine, "sha256"));

        // The underlay between the engine phase's marks: nothing of vm1 <-> vm3 but the marks themselves.
        var times = PcapTiming.Timestamps(Fx.CaptureRaw);
        double begin = PcapTiming.MarkTime(Fx.CaptureFrames, times, EngineBegin), end = PcapTiming.MarkTime(Fx.CaptureFrames, times, EngineEnd);
        Assert.False(double.IsNaN(begin) || double.IsNaN(end), $"the engine phase's marks are missing from the underlay capture ({Fx.CaptureFrames.Count} frames)");
        int between = 0;
        for (int i = 0; i < Fx.CaptureFrames.Count && i < times.Count; i++)
        {
            var f = Fx.CaptureFrames[i];
            if (times[i] <= begin || times[i] >= end || f.EtherType != 0x0800) continue;
            if ((f.Source, f.Destination) is not ((T.Vm1Ip, T.Vm3Ip) or (T.Vm3Ip, T.Vm1Ip))) continue;
            var (src, dst) = PcapTiming.TcpPorts(f);
            if (src is EngineBegin or EngineEnd || dst is EngineBegin or EngineEnd) continue;
            between++;
        }
        Output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"engine phase {end - begin:F3} s: {between} vm1<->vm3 frames on the underlay"));
        Assert.Equal(0, between);

        long engineIn = AgentBytesIn("engine");
        Output.WriteLine($"vm1 agent: engine bytes in {engineIn}");
        Assert.True(engineIn >= TwoHostVmFixture.TransferBytes, $"vm1's agent counted only {engineIn} bytes in on the engine path");

        // Host A's view of its region: vm1 and vm3 hold slots (vm2 is on host B), the ring vm3 -> vm1 carried the file.
        Output.WriteLine(Fx.EngineStatA.GetRawText());
        var group = GroupOf(Fx.EngineStatA);
        var slots = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var s in group.GetProperty("slots").EnumerateArray())
            slots[s.GetProperty("domain").GetString()!] = s.GetProperty("slot").GetInt32();
        Assert.Equal([T.Vm1, T.Vm3], slots.Keys.Order(StringComparer.Ordinal));
        ulong ringBytes = 0;
        foreach (var r in group.GetProperty("rings").EnumerateArray())
            if (r.GetProperty("from").GetInt32() == slots[T.Vm3] && r.GetProperty("to").GetInt32() == slots[T.Vm1]) ringBytes = r.GetProperty("bytesRead").GetUInt64();
        Assert.True(ringBytes >= TwoHostVmFixture.TransferBytes, $"host A's ring vm3 -> vm1 shows only {ringBytes} bytes read");
    }

    [Fact]
    public void RouteExplain_OnHostA_NamesTheHostsAndThePaths()
    {
        Output.WriteLine(Fx.RouteTables);
        Assert.Equal([T.HostA, T.HostB], Strings(Fx.RouteFar, "hosts"));
        Assert.Equal("untrusted", Fx.RouteFar.GetProperty("path").GetString());
        Assert.Equal(["encapsulate", "seal"], Strings(Fx.RouteFar, "actions"));
        Assert.Equal([T.HostA], Strings(Fx.RouteNear, "hosts"));
        Assert.Equal(["engine"], Strings(Fx.RouteNear, "actions"));
    }

    [Fact]
    public void Figures_BootAndThroughput_Printed()
    {
        var times = PcapTiming.Timestamps(Fx.CaptureRaw);
        double mb = TwoHostVmFixture.TransferBytes / 1e6;
        var line = new StringBuilder($"vm1 fetching {TwoHostVmFixture.TransferBytes} bytes (busybox wget <- httpd), host clock between the phase marks on the underlay:");
        foreach (var (name, b, e) in new[] { ("sealed vm2 (host B) -> vm1 (host A)", SealedBegin, SealedEnd), ("engine vm3 -> vm1 (host A)", EngineBegin, EngineEnd) })
        {
            double seconds = PcapTiming.MarkTime(Fx.CaptureFrames, times, e) - PcapTiming.MarkTime(Fx.CaptureFrames, times, b);
            Assert.True(seconds > 0, $"{name}: no span between marks {b} and {e}");
            line.Append(CultureInfo.InvariantCulture, $" {name} {mb / seconds:F2} MB/s ({seconds:F3} s);");
        }
        Output.WriteLine(line.ToString());
        Output.WriteLine($"boot: all three acknowledged {Fx.BootTime.TotalSeconds:F1} s after the starts");
    }

    private long AgentBytesIn(string path)
    {
        using var stat = JsonDocument.Parse(Line(Fx.Serials[T.Vm1], "vm-scenario: stat ")["vm-scenario: stat ".Length..]);
        foreach (var g in stat.RootElement.GetProperty("groups").EnumerateArray())
            if (g.GetProperty("group").GetString() == T.Group) return g.GetProperty(path).GetProperty("bytesIn").GetInt64();
        throw new Xunit.Sdk.XunitException($"group {T.Group} not in vm1's agent stat: {stat.RootElement.GetRawText()}");
    }

    private static JsonElement GroupOf(JsonElement engineStat)
    {
        foreach (var g in engineStat.GetProperty("groups").EnumerateArray())
            if (g.GetProperty("group").GetString() == T.Group) return g;
        throw new Xunit.Sdk.XunitException($"group {T.Group} not in host A's engine-stat: {engineStat.GetRawText()}");
    }

    private static List<string> Connected(JsonElement channelList)
    {
        var domains = new List<string>();
        foreach (var c in channelList.EnumerateArray())
        {
            Assert.Equal(0, c.GetProperty("rejectedMessages").GetInt64());
            if (c.GetProperty("connected").GetBoolean()) domains.Add(c.GetProperty("domain").GetString()!);
        }
        domains.Sort(StringComparer.Ordinal);
        return domains;
    }

    private static string[] Strings(JsonElement e, string property)
    {
        var list = new List<string>();
        foreach (var x in e.GetProperty(property).EnumerateArray()) list.Add(x.GetString()!);
        return [.. list];
    }
}
