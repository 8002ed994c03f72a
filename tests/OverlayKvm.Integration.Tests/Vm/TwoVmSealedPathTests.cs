using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using OverlayKvm.Integration.Tests.Harness;
using Xunit.Abstractions;
using static OverlayKvm.Integration.Tests.Vm.ScenarioConsole;

namespace OverlayKvm.Integration.Tests.Vm;

/// <summary>
/// Two real VMs (TCG) with the Native AOT guest agent, configured by a real overlayd over virtio-serial, on an
/// isolated libvirt network (issue 6, points 2 and 4 without the engine; the measurements). The scenario runs
/// once in <see cref="TwoVmScenarioFixture"/>; each test asserts on one part of what it recorded.
/// </summary>
[Collection("libvirtd")]
public sealed class TwoVmSealedPathTests(TwoVmScenarioFixture fixture, ITestOutputHelper output)
    : RecordedScenarioTests<TwoVmScenarioFixture>(fixture, output), IClassFixture<TwoVmScenarioFixture>
{
    [Fact]
    public void Agents_ConnectOverVirtioSerial_OverlaydShowsConfigurationApplied()
    {
        Output.WriteLine(Fx.ChannelListTable);
        var seen = new List<string>();
        foreach (var c in Fx.ChannelListJson.EnumerateArray())
        {
            var domain = c.GetProperty("domain").GetString()!;
            seen.Add(domain);
            Assert.True(c.GetProperty("connected").GetBoolean(), $"{domain}: not connected: {c.GetRawText()}");
            Assert.True(c.GetProperty("acknowledgedVersion").GetInt64() >= Fx.ConfigVersion,
                $"{domain}: applied version below {Fx.ConfigVersion}: {c.GetRawText()}");
            Assert.Equal(0, c.GetProperty("rejectedMessages").GetInt64());
        }
        seen.Sort(StringComparer.Ordinal);
        Assert.Equal(["vm1", "vm2"], seen);
        // The agents really ran in the guests (the init started them with the host-given arguments).
        Assert.Contains("overlaykvm-init: starting overlay-agent " + TwoVmScenarioFixture.AgentArgs, Fx.Vm1Serial);
        Assert.Contains("overlaykvm-init: starting overlay-agent " + TwoVmScenarioFixture.AgentArgs, Fx.Vm2Serial);
    }

    [Fact]
    public void SealedPath_WgetOverOverlayAddress_ArrivesIntact()
    {
        var payload = Field(Line(Fx.Vm2Serial, "vm-scenario: payload "), "sha256");
        foreach (var l in Lines(Fx.Vm2Serial)) Output.WriteLine("vm2: " + l);
        foreach (var l in Lines(Fx.Vm1Serial)) Output.WriteLine("vm1: " + l);
        var sealedLine = Line(Fx.Vm1Serial, "vm-scenario: sealed ");
        if (Field(sealedLine, "rc") != "0") Output.WriteLine("--- vm1 console ---\n" + E2e.SerialLog.Tail(Fx.Vm1Serial, 4000));
        Assert.Equal("0", Field(sealedLine, "rc"));
        Assert.Equal(TwoVmScenarioFixture.TransferBytes.ToString(CultureInfo.InvariantCulture), Field(sealedLine, "bytes"));
        Assert.Equal(payload, Field(sealedLine, "sha256"));
    }

    [Fact]
    public void SealedPath_BridgeCapture_OnlyVmAddressesUdpToOverlayPortNoPlaintext()
    {
        var frames = Fx.CaptureFrames;
        Output.WriteLine($"{frames.Count} frames on {Fx.Bridge} (excluding the plain baseline on tcp/8081)");
        var vms = new HashSet<string> { TwoVmScenarioFixture.Vm1Ip, TwoVmScenarioFixture.Vm2Ip };
        int overlayUdp = 0, overlayBytes = 0;
        var kinds = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (var f in frames)
        {
            var kind = f.EtherType == 0x0800 ? $"ipv4 proto {f.Protocol}" : $"ethertype 0x{f.EtherType:x4}";
            kinds[kind] = kinds.GetValueOrDefault(kind) + 1;
            if (f.EtherType != 0x0800) continue;
            // The guests' kernels announce multicast membership (IGMP to 224.0.0.x, from 0.0.0.0 before an address
            // is set): link-local control traffic of the VMs themselves, carrying no data.
            if (f.Protocol == 2 && f.Destination!.StartsWith("224.0.0.", StringComparison.Ordinal)) continue;
            Assert.True(vms.Contains(f.Source!) && vms.Contains(f.Destination!), $"a frame between {f.Source} and {f.Destination} on the bridge");
            // The overlay's inner TCP (port 8080) must never appear on the wire: only inside sealed UDP.
            Assert.False(f.Protocol == 6 && (f.SourcePort == 8080 || f.DestinationPort == 8080), "inner TCP/8080 seen in clear on the bridge");
            if (f.Protocol == 17)
            {
                Assert.True(f.SourcePort == 7480 || f.DestinationPort == 7480, $"UDP {f.SourcePort}->{f.DestinationPort} is not the overlay port 7480");
                overlayUdp++;
                overlayBytes += f.UdpPayload.Length;
            }
        }
        foreach (var (kind, n) in kinds) Output.WriteLine($"  {kind}: {n}");
        Output.WriteLine($"overlay UDP datagrams: {overlayUdp}, payload bytes {overlayBytes}");
        Assert.True(overlayBytes >= TwoVmScenarioFixture.TransferBytes,
            $"only {overlayBytes} bytes of overlay UDP on the bridge for a {TwoVmScenarioFixture.TransferBytes}-byte transfer");
        var raw = Encoding.Latin1.GetString(Fx.CaptureRaw);
        Assert.DoesNotContain(TwoVmScenarioFixture.PlaintextMarker, raw);
    }

    [Fact]
    public void UnmodifiedHttpdAndWget_AdapterAppearsWithFirstAppAndGoesWithLast()
    {
        // Printed, not asserted: a known gap (docs/vm-e2e.md, "Findings"), worked around in the scenario.
        foreach (var l in Lines(Fx.Vm1Serial))
            if (l.StartsWith("vm-scenario: main route", StringComparison.Ordinal)) Output.WriteLine("vm1: " + l);
        foreach (var (vm, serial, appIp) in new[] { ("vm1", Fx.Vm1Serial, TwoVmScenarioFixture.ClientAppIp), ("vm2", Fx.Vm2Serial, TwoVmScenarioFixture.ServerAppIp) })
        {
            var lines = Lines(serial);
            foreach (var l in lines) if (l.Contains(" before ", StringComparison.Ordinal) || l.Contains(" during ", StringComparison.Ordinal) || l.Contains(" after ", StringComparison.Ordinal)) Output.WriteLine($"{vm}: {l}");
            Assert.Contains("vm-scenario: before link none", lines);
            Assert.Contains(lines, l => Regex.IsMatch(l, @"^vm-scenario: during link ovk[0-9a-f]+$"));
            Assert.Contains(lines, l => l.StartsWith("vm-scenario: during rule", StringComparison.Ordinal) && l.Contains($"from {appIp} lookup", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.StartsWith("vm-scenario: during addr ovk", StringComparison.Ordinal) && l.Contains(appIp + "/32", StringComparison.Ordinal));
            Assert.Contains("vm-scenario: after link none", lines);
            Assert.DoesNotContain(lines, l => l.StartsWith("vm-scenario: after", StringComparison.Ordinal) && l.Contains(appIp, StringComparison.Ordinal));
        }
    }

    [Fact]
    public void Figures_BootSplitAndThroughput_Printed()
    {
        var plain = Line(Fx.Vm1Serial, "vm-scenario: plain ");
        var sealedLine = Line(Fx.Vm1Serial, "vm-scenario: sealed ");
        Assert.Equal("0", Field(plain, "rc"));
        foreach (var vm in new[] { "vm1", "vm2" })
        {
            var seen = Fx.ConsoleTimes[vm];
            foreach (var marker in TwoVmScenarioFixture.ConsoleMarkers)
                Assert.True(seen.ContainsKey(marker), $"{vm}: '{marker}' never appeared on the console");
            var init = seen[TwoVmScenarioFixture.ConsoleMarkers[0]].TotalSeconds;
            var agentStart = seen[TwoVmScenarioFixture.ConsoleMarkers[1]].TotalSeconds;
            var answering = seen[TwoVmScenarioFixture.ConsoleMarkers[2]].TotalSeconds;
            Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{vm} (host clock from virsh start): virsh start returned {Fx.VirshStart[vm].TotalSeconds:F2} s; /init's first line {init:F2} s; init starts the agent {agentStart:F2} s; agent answers on its control socket {answering:F2} s; configuration acknowledged (overlayd's channel-list) {Fx.StartToAck[vm].TotalSeconds:F2} s"));
        }
        // Host clock: first to last frame of the transfer on the bridge.
        double sealedSeconds = PcapTiming.Span(Fx.CaptureRaw, Fx.CaptureFrames, f => f.Protocol == 17);
        var byClientPort = new Dictionary<int, long>();
        foreach (var f in Fx.BaselineFrames)
        {
            var (src, dst) = PcapTiming.TcpPorts(f);
            int client = src == 8081 ? dst : src;
            byClientPort[client] = byClientPort.GetValueOrDefault(client) + f.IpPayload.Length;
        }
        Assert.NotEmpty(byClientPort);
        int dataPort = byClientPort.MaxBy(kv => kv.Value).Key; // the data.bin fetch, not the ready.txt polls
        double plainSeconds = PcapTiming.Span(Fx.BaselineRaw, Fx.BaselineFrames, f => { var (s, d) = PcapTiming.TcpPorts(f); return s == dataPort || d == dataPort; });
        Assert.True(sealedSeconds > 0 && plainSeconds > 0, $"no transfer span in the captures (sealed {sealedSeconds}, plain {plainSeconds})");
        double mb = TwoVmScenarioFixture.TransferBytes / 1e6;
        Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"throughput vm2 -> vm1, busybox httpd -> wget, {TwoVmScenarioFixture.TransferBytes} bytes, host clock on the bridge: plain TCP over virtio-net {mb / plainSeconds:F2} MB/s ({plainSeconds:F3} s); sealed overlay path {mb / sealedSeconds:F2} MB/s ({sealedSeconds:F3} s)"));
        Output.WriteLine($"guest clock (vm1 /proc/uptime, unreliable under TCG): plain {Field(plain, "seconds")} s, sealed {Field(sealedLine, "seconds")} s");
        foreach (var l in Lines(Fx.Vm1Serial)) if (l.StartsWith("vm-scenario: stat", StringComparison.Ordinal)) Output.WriteLine(l);
    }
}
