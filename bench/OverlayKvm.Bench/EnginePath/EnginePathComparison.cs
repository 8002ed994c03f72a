using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using System.Text;
using System.Text.Json.Nodes;
using OverlayKvm.Bench.Datapath;

namespace OverlayKvm.Bench.EnginePath;

/// <summary>
/// Issue 4 "Measure", whole path (app → TUN → agent → ring → agent → TUN → app): in one run, two namespaces "vmA"
/// and "vmB" joined by a veth underlay, a real overlayd (engine regions in a private folder), a real overlay-agent
/// in each namespace configured by it (as tests/…/EngineE2e/EngineScenario does), apps client 10.1.0.1 (vmA) and
/// server 10.1.0.2 (vmB); then single-stream TCP throughput (iperf3), ping (200 × 10 ms: avg and p50) and a 1-byte
/// TCP request/response loop for (a) the engine path, (b) the sealed path (<c>overlayctl engine-disable web</c>),
/// (c) plain veth between the same namespaces, (d) wireguard-go and (e) Nebula over the same veth (PathPeers); each
/// measured <c>rounds</c> times, printed side by side, plus the tunnels' CPU seconds per GB and the aggregate rate of
/// 50 concurrent request/response connections (ManyConnections); at the end the issue's goals table (GoalsTable). Everything it creates (namespaces, processes, the
/// folder) is removed at the end, on failure and on Ctrl-C.
/// Args: [seconds per iperf3 run = 10] [rounds = 2] [binaries configuration = release] [agent binary]
/// [TUN offload modes = "on,off"]. Each mode gets its own set-up (agents started with `--tun-offloads MODE`) and its
/// own veth baseline; the summary gives the median of the rounds per mode and path and the ratios to veth's median.
/// </summary>
[SupportedOSPlatform("linux")]
public static class EnginePathComparison
{
    private const string Client = "10.1.0.1";
    private const string Server = "10.1.0.2";

    /// <summary>Concurrent request/response connections and their message size (ManyConnections).</summary>
    private const int Connections = 50;
    private const int MessageBytes = 64;

    private sealed record Figures(string Mode, string Path, int Round, double Gbps, long Retransmits, double PingAvgMs, double PingP50Ms, double RrMicros, double AgentCpuSecondsPerGb, double ManyTps, double ManyTunnelMicros, double ManyHarnessMicros);

    /// <summary>The busier agent's idle CPU (% of one CPU), from the first mode's set-up; NaN until measured.</summary>
    private static double s_idlePercent = double.NaN;

    public static int Run(string[] args)
    {
        int seconds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 10;
        int rounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 2;
        string configuration = args.Length > 2 ? args[2] : "release";
        string? agent = args.Length > 3 && args[3].Length > 0 ? Path.GetFullPath(args[3]) : null;
        string[] modes = (args.Length > 4 ? args[4] : "on,off").Split(',', StringSplitOptions.RemoveEmptyEntries);
        var results = new List<Figures>();
        // Two shared cores: the machine's load says how much of each figure is other work (quote it with them).
        Console.WriteLine($"engine-path: load average at start {File.ReadAllText("/proc/loadavg").Trim()}");
        foreach (string mode in modes)
        {
            int code = RunMode(configuration, agent, mode, seconds, rounds, measureIdle: mode == modes[0], results);
            if (code != 0)
            {
                return code;
            }
        }

        if (results.Count > 0)
        {
            Console.WriteLine($"engine-path: load average at end {File.ReadAllText("/proc/loadavg").Trim()}");
            Print(results);
        }

        return 0;
    }

    private static int RunMode(string configuration, string? agent, string mode, int seconds, int rounds, bool measureIdle, List<Figures> results)
    {
        using var bench = new PathBench(configuration, agent, ["--tun-offloads", mode]);
        Console.WriteLine($"engine-path: agent {agent ?? $"{configuration} build (JIT)"}, TUN offloads {mode}");
        // Ctrl-C (SIGINT), kill (SIGTERM), a closed terminal (SIGHUP): clean up here, then exit. The main thread may be
        // blocked in an iperf3 or ping that the cleanup kills; Dispose is idempotent and serialised.
        bool interrupted = false;
        void Interrupted(PosixSignalContext context)
        {
            context.Cancel = true;
            Volatile.Write(ref interrupted, true);
            Console.Error.WriteLine($"engine-path: {context.Signal}, cleaning up");
            bench.Dispose();
            Environment.Exit(130);
        }

        using var onInterrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Interrupted);
        using var onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Interrupted);
        using var onHangUp = PosixSignalRegistration.Create(PosixSignal.SIGHUP, Interrupted);
        try
        {
            bench.SetUp();
            bench.WarmUpEngine();
            if (measureIdle)
            {
                s_idlePercent = MeasureIdle(bench);
            }

            PathPeers? peers = rounds > 0 ? PathPeers.SetUp(bench) : null;
            for (int round = 1; round <= rounds; round++)
            {
                bench.Ctl("engine-enable", "web");
                bench.WarmUpEngine();
                results.Add(Measure(bench, mode, "engine", round, seconds, Client, Server, expectEngine: true, bench.AgentJiffies));
                bench.Ctl("engine-disable", "web");
                results.Add(Measure(bench, mode, "sealed", round, seconds, Client, Server, expectEngine: false, bench.AgentJiffies));
                results.Add(Measure(bench, mode, "veth", round, seconds, "10.97.0.1", "10.97.0.2", expectEngine: null, cpu: null));
                results.Add(Measure(bench, mode, "wireguard-go", round, seconds, PathPeers.WireGuardA, PathPeers.WireGuardB, expectEngine: null, peers!.WireGuardJiffies));
                results.Add(Measure(bench, mode, "nebula", round, seconds, PathPeers.NebulaA, PathPeers.NebulaB, expectEngine: null, peers.NebulaJiffies));
            }

            return 0;
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or IOException or System.Text.Json.JsonException)
        {
            if (Volatile.Read(ref interrupted))
            {
                // The cleanup pulled processes from under the measurement; Dispose (below) waits for it to finish.
                return 130;
            }

            Console.Error.WriteLine($"engine-path: {e.Message}");
            return 1;
        }
    }

    /// <summary>
    /// Idle cost, mostly the doorbell's bounded wait: after a settling pause (the warm-up's connections), per agent
    /// thread over 10 s.
    /// </summary>
    private static double MeasureIdle(PathBench bench)
    {
        Thread.Sleep(TimeSpan.FromSeconds(5));
        Dictionary<string, long> idleBefore = bench.AgentThreadCpuNanoseconds();
        var idleClock = Stopwatch.StartNew();
        Thread.Sleep(TimeSpan.FromSeconds(10));
        Dictionary<string, long> idleAfter = bench.AgentThreadCpuNanoseconds();
        double idleSeconds = idleClock.Elapsed.TotalSeconds;
        var busiest = new StringBuilder();
        long idleTotal = 0;
        foreach ((string thread, long after) in idleAfter.OrderByDescending(t => t.Value - idleBefore.GetValueOrDefault(t.Key)))
        {
            long used = after - idleBefore.GetValueOrDefault(thread);
            idleTotal += used;
            if (used > 0 && busiest.Length < 300)
            {
                busiest.Append(CultureInfo.InvariantCulture, $" {thread} {used / 1e9 / idleSeconds * 100:F3} %;");
            }
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"== idle: both agents together used {idleTotal / 1e9 / idleSeconds * 100:F3} % of one CPU over {idleSeconds:F0} s ({(busiest.Length == 0 ? " nothing measurable" : busiest.ToString())})"));
        double busier = 0;
        foreach (string domain in new[] { "vmA", "vmB" })
        {
            long used = 0;
            foreach ((string thread, long after) in idleAfter)
            {
                used += thread.StartsWith(domain + "/", StringComparison.Ordinal) ? after - idleBefore.GetValueOrDefault(thread) : 0;
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"== idle: agent {domain} {used / 1e9 / idleSeconds * 100:F3} % of one CPU"));
            busier = Math.Max(busier, used / 1e9 / idleSeconds * 100);
        }

        return busier;
    }

    /// <param name="cpu">CPU jiffies so far of the tunnel's own processes (agents, wireguard-go, nebula); null: veth.</param>
    private static Figures Measure(PathBench bench, string mode, string path, int round, int seconds, string from, string to, bool? expectEngine, Func<long>? cpu)
    {
        Console.WriteLine($"== offloads {mode}, round {round}, {path}: {from} -> {to}");
        long enginePacketsBefore = bench.AgentCounter("vmA", "engine", "packetsOut");
        long sealedPacketsBefore = bench.AgentCounter("vmA", "sealed", "packetsOut");
        Dictionary<string, long> fallbacksBefore = bench.Fallbacks("vmA");
        long cpuBefore = cpu?.Invoke() ?? 0;
        Process server = bench.Track(BenchShell.Start(null, "ip", "netns", "exec", bench.B, "iperf3", "-s", "-1", "-B", to));
        Thread.Sleep(500);
        string json = BenchShell.Run("ip", "netns", "exec", bench.A, "iperf3", "-c", to, "-B", from, "-t", seconds.ToString(CultureInfo.InvariantCulture), "-J");
        long cpuUsed = (cpu?.Invoke() ?? 0) - cpuBefore;
        server.WaitForExit(5000);
        JsonNode end = JsonNode.Parse(json)!["end"]!;
        double bps = end["sum_received"]!["bits_per_second"]!.GetValue<double>();
        long bytes = end["sum_received"]!["bytes"]!.GetValue<long>();
        long retransmits = end["sum_sent"]!["retransmits"]?.GetValue<long>() ?? 0;
        long engineMoved = bench.AgentCounter("vmA", "engine", "packetsOut") - enginePacketsBefore;
        long sealedMoved = bench.AgentCounter("vmA", "sealed", "packetsOut") - sealedPacketsBefore;
        if (expectEngine == true)
        {
            // A full ring spills to the sealed path (EngineDatapath.WaitForRoom); say how much, fail if it dominated.
            var spilled = new StringBuilder();
            foreach ((string reason, long count) in bench.Fallbacks("vmA"))
            {
                long delta = count - fallbacksBefore.GetValueOrDefault(reason);
                if (delta > 0)
                {
                    spilled.Append(CultureInfo.InvariantCulture, $" {reason}={delta}");
                }
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"   vmA packets out: engine {engineMoved}, sealed {sealedMoved} ({100.0 * sealedMoved / Math.Max(1, engineMoved + sealedMoved):F2} %); fallbacks:{(spilled.Length == 0 ? " none" : spilled.ToString())}"));
            if (engineMoved == 0 || sealedMoved > engineMoved / 10)
            {
                throw new InvalidOperationException($"engine run: vmA sent {engineMoved} packets on the engine and {sealedMoved} sealed; the engine path was not the one measured");
            }
        }

        if (expectEngine == false && (sealedMoved == 0 || engineMoved > 0))
        {
            throw new InvalidOperationException($"sealed run: vmA sent {sealedMoved} packets sealed and {engineMoved} on the engine; the sealed path was not the one measured");
        }

        if (expectEngine is not null)
        {
            // Kernel-side drops on the TUN devices (the TX queue the agent reads, the RX backlog it writes into)
            // explain TCP retransmits that no agent counter shows.
            foreach (string ns in new[] { bench.A, bench.B })
            {
                foreach (string line in BenchShell.Run("ip", "-n", ns, "-s", "-o", "link", "show").Split('\n'))
                {
                    if (line.Contains(": ovk", StringComparison.Ordinal))
                    {
                        Console.WriteLine($"   {ns}: {System.Text.RegularExpressions.Regex.Replace(line, @"\s+", " ")}");
                    }
                }
            }
        }

        (double avg, double p50) = Ping(bench.A, from, to);
        double rr = RequestResponse.MeanMicros(bench.A, bench.B, from, to, 2000);
        (double many, double manyTunnel, double manyHarness) = ManyConnections.TransactionsPerSecond(bench.A, bench.B, from, to, Connections, MessageBytes, TimeSpan.FromSeconds(seconds), cpu);
        double cpuPerGb = cpu is null ? 0 : cpuUsed / 100.0 / (bytes / 1e9);
        var f = new Figures(mode, path, round, bps / 1e9, retransmits, avg, p50, rr, cpuPerGb, many, manyTunnel, manyHarness);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"   {f.Gbps * 1000 / 8:F0} MB/s ({f.Gbps:F2} Gbit/s, {retransmits} retr), ping avg {avg:F3} ms p50 {p50:F3} ms, 1-byte TCP RR {rr:F0} us, tunnel {cpuPerGb:F2} CPU s/GB, {Connections} connections {many:F0} tx/s"));
        return f;
    }

    /// <summary>ping -c 200 -i 0.01 from the client address: (average, median) round trip in ms.</summary>
    private static (double Avg, double P50) Ping(string ns, string from, string to)
    {
        string output = BenchShell.Run("ip", "netns", "exec", ns, "ping", "-c", "200", "-i", "0.01", "-I", from, to);
        var times = new List<double>();
        foreach (string line in output.Split('\n'))
        {
            int at = line.IndexOf("time=", StringComparison.Ordinal);
            if (at >= 0)
            {
                string value = line[(at + 5)..].Split(' ')[0];
                times.Add(double.Parse(value, CultureInfo.InvariantCulture));
            }
        }

        if (times.Count < 150)
        {
            throw new InvalidOperationException($"ping {from} -> {to}: only {times.Count} of 200 replies:\n{output}");
        }

        times.Sort();
        double sum = 0;
        foreach (double t in times)
        {
            sum += t;
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"   ping {times.Count} replies: min {times[0]:F3} p50 {times[times.Count / 2]:F3} p90 {times[times.Count * 9 / 10]:F3} p99 {times[times.Count * 99 / 100]:F3} max {times[^1]:F3} ms"));
        return (sum / times.Count, times[times.Count / 2]);
    }

    private static void Print(List<Figures> results)
    {
        Console.WriteLine();
        Console.WriteLine("Whole path app -> TUN -> agent -> (ring | sealed UDP | -) -> agent -> TUN -> app, single TCP stream (iperf3);");
        Console.WriteLine("wireguard-go and nebula: the same namespaces and veth underlay through their own TUN devices.");
        Console.WriteLine("tunnel CPU s/GB: CPU time of the tunnel's own processes (both agents, both wireguard-go, both nebula) per GB moved (veth: none).");
        Console.WriteLine($"{Connections}-conn tx/s: {Connections} concurrent TCP connections, each a {MessageBytes}-byte request/response loop; transactions per second of all together;");
        Console.WriteLine("tun us/tx, harness us/tx: CPU per transaction of those connections, of the tunnel's processes and of this bench's client and server threads.");
        Console.WriteLine($"{"offloads",8} {"round",5} {"path",-12} {"MB/s",8} {"retr",6} {"ping avg ms",12} {"ping p50 ms",12} {"1B RR us",9} {"tunnel s/GB",12} {$"{Connections}-conn tx/s",14} {"tun us/tx",10} {"harness us/tx",14}");
        foreach (Figures r in results)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{r.Mode,8} {r.Round,5} {r.Path,-12} {r.Gbps * 1000 / 8,8:F0} {r.Retransmits,6} {r.PingAvgMs,12:F3} {r.PingP50Ms,12:F3} {r.RrMicros,9:F0} {r.AgentCpuSecondsPerGb,12:F2} {r.ManyTps,14:F0} {r.ManyTunnelMicros,10:F1} {r.ManyHarnessMicros,14:F1}"));
        }

        // Medians of the rounds. Every round of a path that does not depend on the offload mode (veth, wireguard-go,
        // nebula: the underlay and the peers do not change) is one baseline sample of the run.
        Console.WriteLine();
        PathMedians veth = Medians(results, null, "veth");
        foreach (string path in new[] { "veth", "wireguard-go", "nebula" })
        {
            PrintMedians("all", path, Medians(results, null, path), veth, results.Count(r => r.Path == path));
        }

        foreach (string mode in results.Select(r => r.Mode).Distinct())
        {
            foreach (string path in new[] { "engine", "sealed" })
            {
                PrintMedians(mode, path, Medians(results, mode, path), veth, results.Count(r => r.Mode == mode && r.Path == path));
            }
        }

        foreach (string mode in results.Select(r => r.Mode).Distinct())
        {
            GoalsTable.Print(mode, Medians(results, mode, "engine"), Medians(results, mode, "sealed"), veth,
                Medians(results, null, "wireguard-go"), Medians(results, null, "nebula"), s_idlePercent);
        }
    }

    private static PathMedians Medians(List<Figures> results, string? mode, string path)
    {
        List<Figures> runs = results.Where(r => (mode is null || r.Mode == mode) && r.Path == path).ToList();
        return new PathMedians(Median(runs.Select(r => r.Gbps * 1000 / 8)), Median(runs.Select(r => r.RrMicros)),
            Median(runs.Select(r => r.AgentCpuSecondsPerGb)), Median(runs.Select(r => r.ManyTps)), Median(runs.Select(r => r.ManyTunnelMicros)));
    }

    private static void PrintMedians(string mode, string path, PathMedians m, PathMedians veth, int samples) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"medians: offloads {mode,-3} {path,-12} {m.MBps,6:F0} MB/s (x{m.MBps / veth.MBps:F2} of veth), 1B RR {m.RrMicros:F0} us (x{m.RrMicros / veth.RrMicros:F2} of veth), tunnel {m.CpuSecondsPerGb:F2} CPU s/GB, {Connections}-conn {m.ManyTps:F0} tx/s (x{m.ManyTps / veth.ManyTps:F2} of veth, tunnel {m.ManyTunnelMicros:F1} us CPU/tx), {samples} rounds"));

    private static double Median(IEnumerable<double> values)
    {
        List<double> sorted = values.Order().ToList();
        return sorted.Count == 0 ? double.NaN : sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
