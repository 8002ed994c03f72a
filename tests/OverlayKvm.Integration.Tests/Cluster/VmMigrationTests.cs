using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using OverlayKvm.Integration.Tests.Migration;
using Xunit.Abstractions;
using static OverlayKvm.Integration.Tests.Vm.ScenarioConsole;
using T = OverlayKvm.Integration.Tests.Cluster.TwoHostVmTopology;

namespace OverlayKvm.Integration.Tests.Cluster;

/// <summary>
/// Issue 15 Shows 1 and 2 on booted TCG VMs (<see cref="TwoHostVmTopology"/> with vm2 beside vm1 on hA, vm1 fetching
/// vm2's file in rounds): <c>overlayctl domain-migrate vm2 --to hB</c> under a running transfer (engine → sealed,
/// same SHA-256, both counters rise, route-explain and vm1's document name hB), then back to hA (the next transfer
/// goes through the engine again, hB's region keeps no slot of vm2). Prints, for the move hA → hB and for the same
/// live migration of a VM without OverlayKvm (<see cref="PlainVmMigration"/>, same run): the gap the apps saw in a 1 ms
/// echo stream from vm1 (<see cref="PingStream"/>), the TCP stall (longest time vm1's received byte count stood still,
/// host clock) and libvirt's own downtime figure. Asserted: the streams ran (a figure exists, most echoes answered);
/// the gaps themselves are figures, printed, never asserted (TCG on a shared machine).
/// </summary>
[Collection(LibvirtHostsCollection.Name)]
public sealed class VmMigrationTests(ITestOutputHelper output)
{
    /// <summary>
    /// The 64 MiB: the test took 4.1 min with it here (round 1 mostly sealed at ~0.75 MB/s under TCG, 89 s),
    /// 7.8–8.5 min since the echo streams and the plain VM's phase (load 20–50); 16 MiB took 1.9 min before them. Lower it if the machine is slower: the rounds wait at most <see cref="RoundTimeout"/>.
    /// </summary>
    private const int TransferBytes = 64 << 20;
    private static readonly TimeSpan BootTimeout = TimeSpan.FromSeconds(300);
    private static readonly TimeSpan RoundTimeout = TimeSpan.FromSeconds(240);
    /// <summary>Around a migration's host-clock span when placing echo gaps: a gap's place is known only to the next ~0.2 s sample (+ the reply file's block).</summary>
    private static readonly TimeSpan Margin = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task Vm2_MigratesUnderATransfer_ToHostB_AndBack_SameSha256_EngineThenSealedThenEngine_NothingLeftOnHostB()
    {
        var narration = new List<string>();
        void Log(string line)
        {
            lock (narration) narration.Add($"{DateTime.UtcNow:HH:mm:ss.fff} {line}");
        }
        TwoHostVmTopology? t = null;
        try
        {
            t = await TwoHostVmTopology.CreateAsync(TransferBytes, Log, vm2Host: T.HostA, rounds: true);
            await t.BootAsync(BootTimeout);
            var vm1 = t.Domains[T.Vm1];
            await using var clock = new SerialLineClock(vm1.Serial.Path);
            await vm1.Serial.WaitForLineAsync("vm-scenario: client done", BootTimeout);
            var payload = Field(Line(t.Domains[T.Vm2].Serial.ReadAll(), "vm-scenario: payload "), "sha256");

            // Show 1: the move starts as soon as vm1 begins a round (the engine path: both on hA).
            var begin1 = await clock.WaitAsync("vm-scenario: round 1 begin", RoundTimeout);
            // Let the engine carry a first megabyte before the move, so the counters show both paths with substance.
            await UntilAsync(() => Task.FromResult(ProgressLines.Bytes(clock, begin1.At) >= 1 << 20), "vm1's round 1 never reached 1 MiB before the move");
            var moveFrom = clock.Now;
            var there = await MigrateAsync(t, T.HostA, T.HostB);
            var moveTo = clock.Now;
            var end1 = await clock.WaitAsync("vm-scenario: round 1 rc=", RoundTimeout);
            var (engine1, sealed1) = Deltas(begin1.Line, end1.Line);
            output.WriteLine($"round 1 (vm2 moved hA -> hB under it): engine bytes in +{engine1}, sealed +{sealed1}; {end1.Line}");
            AssertRound(end1.Line, payload);
            Assert.True(engine1 >= 1 << 20, $"round 1 counted only {engine1} engine bytes before the move (sealed +{sealed1})");
            Assert.True(sealed1 > 0, $"round 1 counted no sealed bytes after the move (engine +{engine1})");
            var (stall1, samples1) = ProgressLines.LongestStall(clock, begin1.At, end1.At);
            Assert.True(samples1 >= 10, $"only {samples1} progress lines of vm1 during round 1: no stall figure");
            // The 1 ms echo stream vm1 ran to app server beside round 1's transfer (the round waits for its summary).
            var ping1 = PingStream.Read(clock, "overlay");
            output.WriteLine(ping1.Summary);
            AssertStreamRan(ping1, moveFrom, moveTo);

            var client = $"{T.Group}/{T.ClientApp}";
            var server = $"{T.Group}/{T.ServerApp}";
            var route = await t.CtlA.JsonAsync("route-explain", client, server);
            output.WriteLine(await t.CtlA.OkAsync("route-explain", client, server));
            Assert.Contains(T.HostB, Strings(route, "hosts"));
            await UntilAsync(async () => await ServerHostInVm1DocumentAsync(t) == T.HostB, "vm1's document never placed app server on hB");

            // vm2's agent re-attached to the BAR hB plugged: hB's region holds a slot for it.
            await UntilAsync(async () => SlotDomains(await t.CtlB.JsonAsync("engine-stat")).Contains(T.Vm2),
                "hB's engine-stat never showed a slot for vm2 (its agent did not attach to hB's region)");

            // Show 2: back to hA; the first round that begins after that goes through the engine.
            var back = await MigrateAsync(t, T.HostB, T.HostA);
            var after = clock.Lines("vm-scenario: round ").Count;
            int next = NextRound(clock);
            var beginN = await clock.WaitAsync($"vm-scenario: round {next} begin", RoundTimeout);
            var endN = await clock.WaitAsync($"vm-scenario: round {next} rc=", RoundTimeout);
            var (engineN, sealedN) = Deltas(beginN.Line, endN.Line);
            output.WriteLine($"round {next} (after the return, {after} round lines before): engine bytes in +{engineN}, sealed +{sealedN}; {endN.Line}");
            AssertRound(endN.Line, payload);
            Assert.True(engineN >= TransferBytes / 2, $"round {next} after the return went {engineN} bytes through the engine, {sealedN} sealed");
            await UntilAsync(async () => !SlotDomains(await t.CtlB.JsonAsync("engine-stat")).Contains(T.Vm2), "hB's engine-stat still has a slot for vm2");
            output.WriteLine("hB engine-stat after the return: " + (await t.CtlB.JsonAsync("engine-stat")).GetRawText());

            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"figures: domain-migrate hA->hB {there.Took.TotalSeconds:F2} s (libvirt downtime {there.Downtime}), hB->hA {back.Took.TotalSeconds:F2} s (libvirt downtime {back.Downtime}); " +
                $"round 1 across the move: TCP stall (longest time vm1's byte count stood still, host clock, 20 ms polling of ~0.2 s progress lines, {samples1} lines) {stall1.TotalSeconds:F2} s, round 1 took {(end1.At - begin1.At).TotalSeconds:F1} s"));

            output.WriteLine("figures: " + ping1.Describe(moveFrom - Margin, moveTo + Margin * 2));

            // Baseline, same run: the same live migration of a domain without OverlayKvm, under the same stream and fetches;
            // and both streams alone (no transfer beside them), vm2 moving hA -> hB once more under the overlay one.
            (TimeSpan Took, string Downtime) third = default;
            var plain = await PlainVmMigration.RunAsync(t, clock, Log, async () => third = await MigrateAsync(t, T.HostA, T.HostB));
            var fetches = clock.Lines("vm-scenario: plain fetch ");
            foreach (var (_, line) in fetches) output.WriteLine(line);
            Assert.True(fetches.Count > 0, "vm1 never completed a fetch from the plain VM");
            foreach (var (_, line) in fetches)
                Assert.True(Field(line, "rc") == "0" && Field(line, "bytes") == TransferBytes.ToString(CultureInfo.InvariantCulture), $"a fetch from the plain VM failed: {line}");
            var (stallP, samplesP) = ProgressLines.LongestStall(clock, plain.Begin, plain.End);
            Assert.True(samplesP >= 10, $"only {samplesP} progress lines of vm1 during the plain phase: no stall figure");
            var pingP = PingStream.Read(clock, "plain");
            output.WriteLine(pingP.Summary);
            AssertStreamRan(pingP, plain.Loaded.From, plain.Loaded.To);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"baseline: virsh migrate --live of a domain without OverlayKvm (same image, 384 MiB) hA->hB {plain.Quiet.Took.TotalSeconds:F2} s (libvirt downtime {plain.Quiet.Downtime}), " +
                $"hB->hA under vm1's fetches {plain.Loaded.Took.TotalSeconds:F2} s (libvirt downtime {plain.Loaded.Downtime}); " +
                $"TCP stall of vm1's fetches from it across the move {stallP.TotalSeconds:F2} s ({samplesP} lines, {fetches.Count} fetches of {TransferBytes >> 20} MiB in {(plain.End - plain.Begin).TotalSeconds:F1} s)"));
            output.WriteLine("baseline: " + pingP.Describe(plain.Loaded.From - Margin, plain.Loaded.To + Margin * 2));

            // The streams alone: vm2's third move (hA -> hB, engine -> sealed) and the plain domain's hA -> hB.
            var quietO = PingStream.Read(clock, "overlay-quiet");
            var quietP = PingStream.Read(clock, "plain-quiet");
            output.WriteLine(quietO.Summary);
            output.WriteLine(quietP.Summary);
            AssertStreamRan(quietO, plain.QuietOverlay.From, plain.QuietOverlay.To);
            AssertStreamRan(quietP, plain.Quiet.From, plain.Quiet.To);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"figures, streams alone: domain-migrate vm2 hA->hB {third.Took.TotalSeconds:F2} s (libvirt downtime {third.Downtime}); {quietO.Describe(plain.QuietOverlay.From - Margin, plain.QuietOverlay.To + Margin * 2)}"));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"baseline, stream alone: virsh migrate hA->hB {plain.Quiet.Took.TotalSeconds:F2} s (libvirt downtime {plain.Quiet.Downtime}); {quietP.Describe(plain.Quiet.From - Margin, plain.Quiet.To + Margin * 2)}"));
        }
        catch
        {
            if (t is not null) output.WriteLine(t.Logs());
            throw;
        }
        finally
        {
            lock (narration)
                foreach (var l in narration) output.WriteLine("[topology] " + l);
            if (t is not null) await t.DisposeAsync();
        }
    }

    private async Task<(TimeSpan Took, string Downtime)> MigrateAsync(TwoHostVmTopology t, string from, string to)
    {
        var watch = Stopwatch.StartNew();
        var r = await t.CtlOf(from).RunAsync("domain-migrate", T.Vm2, "--to", to);
        var took = watch.Elapsed;
        output.WriteLine($"domain-migrate vm2 {from} -> {to}: exit {r.ExitCode} after {took.TotalSeconds:F2} s: {r.Stdout.Trim()} {r.Stderr.Trim()}");
        Assert.True(r.ExitCode == 0, $"domain-migrate vm2 --to {to} on {from} failed: {r}");
        t.RecordMigrated(T.Vm2, to);
        // libvirt's own figure for the pause the guest saw (the destination keeps the completed incoming job's stats).
        return (took, PlainVmMigration.DowntimeOf(t.LibvirtOf(to), T.Vm2));
    }

    /// <summary>The number of the round after the one running now (or the one after the last that ended).</summary>
    private static int NextRound(SerialLineClock clock)
    {
        int last = 0;
        foreach (var (_, line) in clock.Lines("vm-scenario: round "))
        {
            var rest = line[(line.IndexOf("vm-scenario: round ", StringComparison.Ordinal) + "vm-scenario: round ".Length)..];
            last = Math.Max(last, int.Parse(rest[..rest.IndexOf(' ')], CultureInfo.InvariantCulture));
        }
        return last + 1;
    }

    private static void AssertRound(string line, string payload)
    {
        Assert.Equal("0", Field(line, "rc"));
        Assert.Equal(TransferBytes.ToString(CultureInfo.InvariantCulture), Field(line, "bytes"));
        Assert.Equal(payload, Field(line, "sha256"));
    }

    /// <summary>Engine and sealed bytes in of vm1's agent between a round's begin and end stat.</summary>
    private static (long Engine, long Sealed) Deltas(string begin, string end) =>
        (BytesIn(end, "engine") - BytesIn(begin, "engine"), BytesIn(end, "sealed") - BytesIn(begin, "sealed"));

    private static long BytesIn(string line, string path)
    {
        using var stat = JsonDocument.Parse(line[(line.IndexOf(" stat ", StringComparison.Ordinal) + " stat ".Length)..]);
        foreach (var g in stat.RootElement.GetProperty("groups").EnumerateArray())
            if (g.GetProperty("group").GetString() == T.Group) return g.GetProperty(path).GetProperty("bytesIn").GetInt64();
        throw new Xunit.Sdk.XunitException($"group {T.Group} not in vm1's agent stat: {line}");
    }

    /// <summary>
    /// The stream ran across the migration: ping's statistics exist, most echoes were answered (a TCG guest beside a
    /// transfer may miss some; the gap is what the figures show) and answers were seen on the host's clock after it.
    /// </summary>
    private static void AssertStreamRan(PingStream ping, TimeSpan moveFrom, TimeSpan moveTo)
    {
        Assert.True(ping.Transmitted >= 1000, $"the {ping.Label} echo stream sent only {ping.Transmitted} echoes: {ping.Summary}");
        Assert.True(ping.Received >= ping.Transmitted / 2, $"the {ping.Label} echo stream got only {ping.Received} of {ping.Transmitted} answers: {ping.Summary}");
        Assert.True(ping.Begin < moveFrom && ping.End > moveTo,
            $"the {ping.Label} echo stream ({ping.Begin.TotalSeconds:F1}-{ping.End.TotalSeconds:F1} s) did not span the migration ({moveFrom.TotalSeconds:F1}-{moveTo.TotalSeconds:F1} s)");
        Assert.True(ping.Samples >= 10, $"only {ping.Samples} pingseq samples of the {ping.Label} stream: its gaps cannot be placed in time");
    }

    private static HashSet<string> SlotDomains(JsonElement engineStat)
    {
        var domains = new HashSet<string>(StringComparer.Ordinal);
        foreach (var g in engineStat.GetProperty("groups").EnumerateArray())
            if (g.GetProperty("group").GetString() == T.Group)
                foreach (var s in g.GetProperty("slots").EnumerateArray()) domains.Add(s.GetProperty("domain").GetString()!);
        return domains;
    }

    private static async Task<string?> ServerHostInVm1DocumentAsync(TwoHostVmTopology t)
    {
        JsonElement doc = await t.CtlA.JsonAsync("domain-config", T.Vm1);
        foreach (var g in doc.GetProperty("groups").EnumerateArray())
            foreach (var m in g.GetProperty("members").EnumerateArray())
                if (m.GetProperty("name").GetString() == T.ServerApp) return m.GetProperty("host").GetString();
        return null;
    }

    private static async Task UntilAsync(Func<Task<bool>> condition, string failure)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, failure);
            await Task.Delay(200);
        }
    }

    private static List<string> Strings(JsonElement e, string property)
    {
        var list = new List<string>();
        foreach (var x in e.GetProperty(property).EnumerateArray()) list.Add(x.GetString()!);
        return list;
    }
}
