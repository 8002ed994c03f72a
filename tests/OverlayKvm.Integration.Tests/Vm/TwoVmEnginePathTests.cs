using System.Globalization;
using System.Text;
using System.Text.Json;
using OverlayKvm.Integration.Tests.Harness;
using Xunit.Abstractions;
using static OverlayKvm.Integration.Tests.Vm.ScenarioConsole;

namespace OverlayKvm.Integration.Tests.Vm;

/// <summary>
/// Two real VMs (TCG) of one group on one host talk through the ivshmem back channel (issue 6, show 1), with the
/// engine-vs-sealed-vs-plain figures of the same run. The scenario runs once in <see cref="TwoVmEngineFixture"/>;
/// each test asserts on one part of what it recorded.
/// </summary>
[Collection("libvirtd")]
public sealed class TwoVmEnginePathTests(TwoVmEngineFixture fixture, ITestOutputHelper output)
    : RecordedScenarioTests<TwoVmEngineFixture>(fixture, output), IClassFixture<TwoVmEngineFixture>
{
    // Phase marks: SYNs from vm1's eth0 to closed ports of vm2 (packaging/guest-image/scenarios/two-apps.sh).
    private const int EngineBegin = 9981, EngineEnd = 9982, SealedBegin = 9983, SealedEnd = 9984, PlainBegin = 9985, PlainEnd = 9986;

    [Fact]
    public void Region_LaidOutByOverlaydBeforeAnyVmStarts_QemuMapsIt()
    {
        // Taken after app-define, before 'virsh start': overlayd's file, in QEMU's terms (owner, mode, exact size).
        Assert.Equal($"libvirt-qemu 600 {TwoVmEngineFixture.RegionBytes}", Fx.RegionStatBeforeStart);
        Assert.Equal("OKVMENG\0", Encoding.ASCII.GetString(Fx.RegionMagicBeforeStart));
        var before = Group(Fx.EngineStatBeforeStart);
        Assert.Empty(before.GetProperty("slots").EnumerateArray());
        // Both QEMUs mapped that same region (the agents attached through BAR2 and registered in it): overlayd did not
        // have to re-initialise a file QEMU had made — the generation is the one laid out before the start.
        var registered = Group(Fx.EngineStatRegistered);
        Assert.Equal(before.GetProperty("generation").GetUInt64(), registered.GetProperty("generation").GetUInt64());
        Assert.Equal("Valid", registered.GetProperty("headerStatus").GetString());
        Assert.Equal(Fx.RegionPath, registered.GetProperty("regionPath").GetString());
    }

    [Fact]
    public void Agents_RegisterOverVirtioSerial_EngineStatShowsBothSlotsWithTheirAddresses()
    {
        Output.WriteLine(Fx.EngineStatTable);
        var slots = new Dictionary<string, List<string>>();
        foreach (var s in Group(Fx.EngineStatRegistered).GetProperty("slots").EnumerateArray())
        {
            var addresses = new List<string>();
            foreach (var a in s.GetProperty("addresses").EnumerateArray()) addresses.Add(a.GetString()!);
            slots[s.GetProperty("domain").GetString()!] = addresses;
            Assert.False(s.GetProperty("expired").GetBoolean(), $"slot of {s.GetProperty("domain")} expired: {s.GetRawText()}");
        }
        Assert.Equal([TwoVmEngineFixture.ClientAppIp], slots["vm1"]);
        Assert.Equal([TwoVmEngineFixture.ServerAppIp], slots["vm2"]);
        Assert.Equal(2, slots.Count);
    }

    [Fact]
    public void EnginePath_1MiB_ArrivesIntact_AgentAndEngineCountersShowTheBytes()
    {
        foreach (var l in Lines(Fx.Vm1Serial)) Output.WriteLine("vm1: " + l);
        foreach (var l in Lines(Fx.Vm2Serial)) Output.WriteLine("vm2: " + l);
        var payload = Line(Fx.Vm2Serial, "vm-scenario: payload ");
        var engine = Line(Fx.Vm1Serial, "vm-scenario: engine rc=");
        Assert.Equal("0", Field(engine, "rc"));
        Assert.Equal(TwoVmEngineFixture.TransferBytes.ToString(CultureInfo.InvariantCulture), Field(engine, "bytes"));
        Assert.Equal(Field(payload, "sha256"), Field(engine, "sha256"));

        // The client's agent: what it received through the rings (its stat, JSON, right after the transfer).
        using var agentStat = JsonDocument.Parse(Line(Fx.Vm1Serial, "vm-scenario: engine stat ")["vm-scenario: engine stat ".Length..]);
        long engineBytesIn = 0, sealedBytesIn = 0;
        foreach (var g in agentStat.RootElement.GetProperty("groups").EnumerateArray())
        {
            if (g.GetProperty("group").GetString() != Fx.Group) continue;
            engineBytesIn = g.GetProperty("engine").GetProperty("bytesIn").GetInt64();
            sealedBytesIn = g.GetProperty("sealed").GetProperty("bytesIn").GetInt64();
        }
        Output.WriteLine($"vm1 agent: engine bytes in {engineBytesIn}, sealed bytes in {sealedBytesIn}");
        // Issue 14 item 11: a clean run over a healthy ring counts no fault and drops nothing it took off a ring.
        var engineStat = agentStat.RootElement.GetProperty("engine");
        Assert.Equal(0, engineStat.GetProperty("fallbacks").GetProperty("fault").GetInt64());
        Assert.Equal(0, engineStat.GetProperty("ringDrops").GetInt64());
        foreach (var drop in agentStat.RootElement.GetProperty("drops").EnumerateObject())
            Assert.True(drop.Value.GetInt64() == 0, $"vm1's agent dropped {drop.Value} packets as '{drop.Name}' during a clean engine transfer");
        Assert.True(engineBytesIn >= TwoVmEngineFixture.TransferBytes, $"vm1's agent counted only {engineBytesIn} bytes in on the engine path");
        Assert.True(sealedBytesIn < TwoVmEngineFixture.TransferBytes / 10, $"vm1's agent received {sealedBytesIn} bytes on the sealed path during the engine phase");

        // overlayd's view of the region: the ring from vm2's slot to vm1's slot carried the megabyte.
        var group = Group(Fx.EngineStatAfterEngine);
        int SlotOf(string domain)
        {
            foreach (var s in group.GetProperty("slots").EnumerateArray())
                if (s.GetProperty("domain").GetString() == domain) return s.GetProperty("slot").GetInt32();
            throw new Xunit.Sdk.XunitException($"{domain} has no slot in engine-stat: {group.GetRawText()}");
        }
        int from = SlotOf("vm2"), to = SlotOf("vm1");
        ulong ringBytes = 0;
        foreach (var r in group.GetProperty("rings").EnumerateArray())
            if (r.GetProperty("from").GetInt32() == from && r.GetProperty("to").GetInt32() == to) ringBytes = r.GetProperty("bytesRead").GetUInt64();
        Output.WriteLine($"engine-stat: ring {from}->{to} bytes read {ringBytes}");
        Assert.True(ringBytes >= TwoVmEngineFixture.TransferBytes, $"the ring vm2->vm1 shows only {ringBytes} bytes read");
    }

    [Fact]
    public void EnginePath_CapturesOnTheBridgeAndBothTaps_ShowNoneOfIt()
    {
        Assert.Equal(3, Fx.Captures.Count); // the bridge and one tap per VM
        foreach (var (device, (raw, frames)) in Fx.Captures)
        {
            var times = PcapTiming.Timestamps(raw);
            double begin = PcapTiming.MarkTime(frames, times, EngineBegin), end = PcapTiming.MarkTime(frames, times, EngineEnd);
            Assert.False(double.IsNaN(begin) || double.IsNaN(end), $"{device}: the engine phase's marks are missing ({frames.Count} frames)");
            int inWindow = 0, overlay = 0;
            for (int i = 0; i < frames.Count && i < times.Count; i++)
            {
                if (times[i] <= begin || times[i] >= end) continue;
                inWindow++;
                var f = frames[i];
                var (tcpSrc, tcpDst) = PcapTiming.TcpPorts(f);
                if (f.Protocol == 17 || tcpSrc == 8080 || tcpDst == 8080) overlay++;
            }
            Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{device}: {frames.Count} frames in all; engine phase {end - begin:F3} s with {inWindow} frames, of them UDP or tcp/8080: {overlay}"));
            Assert.Equal(0, overlay);
            // Nothing of the payload anywhere in the capture (the sealed phase is ciphertext, the plain one is filtered out).
            Assert.DoesNotContain(TwoVmEngineFixture.PlaintextMarker, Encoding.Latin1.GetString(raw));
        }
    }

    [Fact]
    public void RegionScribbledOverFor10s_BothAgentsRegisterAgainByThemselves()
    {
        Output.WriteLine("engine-stat after the scribbling: " + Fx.EngineStatAfterScribble.GetRawText());
        Assert.True(Fx.ScribbleToReregistered is not null,
            $"after 10 s of random bytes over the region, both VMs did not hold a slot on a valid header again: {Fx.EngineStatAfterScribble.GetRawText()}");
        Output.WriteLine($"both agents registered again {Fx.ScribbleToReregistered!.Value.TotalSeconds:F2} s after the scribbling stopped");
        Assert.Equal(["vm1", "vm2"], TwoVmEngineFixture.SlotDomains(Fx.EngineStatAfterScribble));
        // The bytes did land: overlayd saw a broken header, slot table or control block and repaired it.
        var counters = Fx.EngineStatAfterScribble.GetProperty("counters");
        long repairs = counters.GetProperty("headerRepairs").GetInt64() + counters.GetProperty("slotRepairs").GetInt64() + counters.GetProperty("controlRepairs").GetInt64();
        Assert.True(repairs > 0, $"overlayd repaired nothing after 10 s of random bytes over the region: {counters.GetRawText()}");
    }

    [Fact]
    public void DestroyVm2_ItsRegistrationLeavesEngineStatWithinOneHeartbeatInterval_Vm1Stays()
    {
        Output.WriteLine($"virsh destroy {Fx.Vm2LibvirtName} -> vm2 gone from engine-stat after {Fx.DestroyToReleased.TotalSeconds:F2} s");
        Assert.Equal(["vm1"], TwoVmEngineFixture.SlotDomains(Fx.EngineStatAfterDestroy));
        Assert.True(Fx.DestroyToReleased <= TwoVmEngineFixture.HeartbeatInterval,
            $"vm2's registration took {Fx.DestroyToReleased.TotalSeconds:F2} s to go (heartbeat interval {TwoVmEngineFixture.HeartbeatInterval.TotalSeconds} s)");
    }

    [Fact]
    public void Figures_StartToRegistration_AndEngineSealedPlainThroughput_Printed()
    {
        var sealedLine = Line(Fx.Vm1Serial, "vm-scenario: sealed rc=");
        var plainLine = Line(Fx.Vm1Serial, "vm-scenario: plain rc=");
        var payload = Field(Line(Fx.Vm2Serial, "vm-scenario: payload "), "sha256");
        foreach (var l in new[] { sealedLine, plainLine })
        {
            Assert.Equal("0", Field(l, "rc"));
            Assert.Equal(payload, Field(l, "sha256"));
        }
        foreach (var vm in new[] { "vm1", "vm2" })
        {
            var seen = Fx.ConsoleTimes[vm];
            foreach (var marker in TwoVmEngineFixture.ConsoleMarkers)
                Assert.True(seen.ContainsKey(marker), $"{vm}: '{marker}' never appeared on the console");
            Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{vm} (host clock from virsh start): virsh start {Fx.VirshStart[vm].TotalSeconds:F2} s; /init {seen[TwoVmEngineFixture.ConsoleMarkers[0]].TotalSeconds:F2} s; agent started {seen[TwoVmEngineFixture.ConsoleMarkers[1]].TotalSeconds:F2} s; control socket answers {seen[TwoVmEngineFixture.ConsoleMarkers[2]].TotalSeconds:F2} s; configuration acknowledged {Fx.StartToAck[vm].TotalSeconds:F2} s; app registered with the engine {Fx.StartToRegistered[vm].TotalSeconds:F2} s"));
        }
        var (raw, frames) = Fx.Captures[Fx.Bridge];
        var times = PcapTiming.Timestamps(raw);
        foreach (var (device, (r, f)) in Fx.Captures)
        {
            var t = PcapTiming.Timestamps(r);
            var marks = new StringBuilder();
            for (int i = 0; i < f.Count && i < t.Count; i++)
            {
                var (src, dst) = PcapTiming.TcpPorts(f[i]);
                if (dst is >= EngineBegin and <= PlainEnd || src is >= EngineBegin and <= PlainEnd)
                    marks.Append(CultureInfo.InvariantCulture, $" {f[i].Source}:{src}->{f[i].Destination}:{dst}@{t[i]:F3}");
            }
            Output.WriteLine($"{device}: {f.Count} frames, {t.Count} timestamps; phase-mark frames:{marks}");
        }
        double mb = TwoVmEngineFixture.TransferBytes / 1e6;
        var line = new StringBuilder($"throughput vm2 -> vm1, busybox httpd -> wget, {TwoVmEngineFixture.TransferBytes} bytes, host clock between the phase marks on {Fx.Bridge}:");
        foreach (var (name, b, e) in new[] { ("engine (ivshmem rings)", EngineBegin, EngineEnd), ("sealed (UDP over virtio-net)", SealedBegin, SealedEnd), ("plain TCP over virtio-net", PlainBegin, PlainEnd) })
        {
            double seconds = PcapTiming.MarkTime(frames, times, e) - PcapTiming.MarkTime(frames, times, b);
            Assert.True(seconds > 0, $"{name}: no span between marks {b} and {e}");
            line.Append(CultureInfo.InvariantCulture, $" {name} {mb / seconds:F2} MB/s ({seconds:F3} s);");
        }
        Output.WriteLine(line.ToString());
    }

    private JsonElement Group(JsonElement engineStat)
    {
        foreach (var g in engineStat.GetProperty("groups").EnumerateArray())
            if (g.GetProperty("group").GetString() == Fx.Group) return g;
        throw new Xunit.Sdk.XunitException($"group {Fx.Group} not in engine-stat: {engineStat.GetRawText()}");
    }
}
