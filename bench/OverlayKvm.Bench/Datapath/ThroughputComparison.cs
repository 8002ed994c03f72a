using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.Versioning;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using OverlayKvm.Core.Channel;
using OverlayKvm.Core.Config;
using OverlayKvm.Core.Interop;
using CoreInterop = OverlayKvm.Core.Interop.Interop;

namespace OverlayKvm.Bench.Datapath;

/// <summary>
/// Issue 3 "Measure": single-stream TCP throughput (iperf3, 10 s), ping round trip and a 1-byte TCP
/// request/response loop between two namespaces, through (1) plain veth, (2) wireguard-go, (3) the overlay
/// (two real overlay-agent processes, sealed path), in the same run. Prints a table with Gbit/s, CPU seconds per
/// GB moved (all CPUs, from /proc/stat), UDP receive-buffer drops, and round trips. Needs root, iproute2,
/// iperf3, wireguard-go, wireguard-tools, and the built overlay-agent. Run: <c>ThroughputComparison.Run(args)</c>
/// (args: [seconds] [path to overlay-agent]).
/// </summary>
[SupportedOSPlatform("linux")]
public static class ThroughputComparison
{
    private sealed record Result(string Path, double Gbps, double CpuSecondsPerGb, double TunnelCpuSecondsPerGb, double TunnelCpuPercent, long UdpDrops, double PingMs, double RrMicros, long Retransmits);

    /// <summary>PIDs of the tunnel's own processes (wireguard-go or the agents) for the CPU they use.</summary>
    private static readonly List<int> TunnelPids = new();

    public static int Run(string[] args)
    {
        int seconds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 10;
        string agent = args.Length > 1 ? args[1] : FindAgent();
        var results = new List<Result>();
        string suffix = Guid.NewGuid().ToString("N")[..6];
        string a = "ovkb-a-" + suffix, b = "ovkb-b-" + suffix;
        string dir = Path.Combine(Path.GetTempPath(), "ovkb-" + suffix);
        Directory.CreateDirectory(dir);
        var processes = new List<Process>();
        try
        {
            BenchVeth.Create(a, b, "10.99.0");

            results.Add(Measure("veth", a, b, "10.99.0.1", "10.99.0.2", seconds, null));

            SetUpWireGuard(a, b, dir, processes);
            TunnelPids.Clear();
            TunnelPids.AddRange(processes.Select(p => p.Id));
            results.Add(Measure("wireguard-go", a, b, "10.2.0.1", "10.2.0.2", seconds, null));

            int before = processes.Count;
            SetUpOverlay(a, b, dir, agent, processes).GetAwaiter().GetResult();
            TunnelPids.Clear();
            TunnelPids.AddRange(processes.Skip(before).Select(p => p.Id));
            results.Add(Measure("overlay", a, b, "10.1.0.1", "10.1.0.2", seconds, agent));
        }
        finally
        {
            foreach (var p in processes)
            {
                BenchShell.Stop(p);
            }
            foreach (string ns in new[] { a, b })
            {
                try
                {
                    BenchShell.Run("ip", "netns", "del", ns);
                }
                catch (InvalidOperationException)
                {
                    // Namespace not created (setup failed early).
                }
            }
            Directory.Delete(dir, recursive: true);
        }

        Console.WriteLine();
        Console.WriteLine("CPU s/GB: all CPUs of the machine (includes anything else running); tunnel: the tunnel's own processes only.");
        Console.WriteLine($"{"path",-14} {"Gbit/s",8} {"CPU s/GB",9} {"tun s/GB",9} {"tun CPU%",9} {"UDP drops",10} {"TCP retr",9} {"ping ms",8} {"1B RR us",9}");
        foreach (var r in results)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{r.Path,-14} {r.Gbps,8:F2} {r.CpuSecondsPerGb,9:F2} {r.TunnelCpuSecondsPerGb,9:F2} {r.TunnelCpuPercent,9:F0} {r.UdpDrops,10} {r.Retransmits,9} {r.PingMs,8:F3} {r.RrMicros,9:F0}"));
        }
        var wg = results.Find(r => r.Path == "wireguard-go");
        var ov = results.Find(r => r.Path == "overlay");
        if (wg is not null && ov is not null)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"overlay / wireguard-go: throughput x{ov.Gbps / wg.Gbps:F2}, ping x{ov.PingMs / wg.PingMs:F2}, 1-byte RR x{ov.RrMicros / wg.RrMicros:F2}"));
        }
        return 0;
    }

    private static string FindAgent()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "OverlayKvm.sln")))
        {
            dir = dir.Parent;
        }
        return Path.Combine(dir?.FullName ?? ".", "artifacts/bin/OverlayKvm.GuestAgent/release/overlay-agent");
    }

    private static Result Measure(string name, string a, string b, string addressA, string addressB, int seconds, string? agent)
    {
        if (agent is null && name == "veth")
        {
            TunnelPids.Clear();
        }
        Console.WriteLine($"== {name}: iperf3 {addressA} -> {addressB}, {seconds} s");
        Process? holdA = null, holdB = null;
        if (agent is not null)
        {
            // The two apps are counted for the whole measurement (overlay-agent run around a placeholder), so
            // their addresses and routes exist; iperf3, ping and the RR loop bind those addresses.
            holdA = BenchShell.Start(null, "ip", "netns", "exec", a, agent, "run", "--app", "client", "--control", AgentControl(a), "--", "sleep", "600");
            holdB = BenchShell.Start(null, "ip", "netns", "exec", b, agent, "run", "--app", "server", "--control", AgentControl(b), "--", "sleep", "600");
            Thread.Sleep(700);
        }
        try
        {
            return MeasureCounted(name, a, b, addressA, addressB, seconds);
        }
        finally
        {
            BenchShell.Stop(holdA);
            BenchShell.Stop(holdB);
        }
    }

    private static Result MeasureCounted(string name, string a, string b, string addressA, string addressB, int seconds)
    {
        string[] server = ["ip", "netns", "exec", b, "iperf3", "-s", "-1", "-B", addressB];
        using var iperfServer = BenchShell.Start(null, server);
        Thread.Sleep(700);
        long dropsBefore = BenchShell.UdpRcvbufErrors(a) + BenchShell.UdpRcvbufErrors(b);
        long busyBefore = BenchShell.BusyJiffies();
        long tunnelBefore = TunnelPids.Sum(BenchShell.ProcessJiffies);
        var clock = Stopwatch.StartNew();
        string[] client = ["ip", "netns", "exec", a, "iperf3", "-c", addressB, "-B", addressA, "-t", seconds.ToString(CultureInfo.InvariantCulture), "-J"];
        string json = BenchShell.Run(client);
        long busy = BenchShell.BusyJiffies() - busyBefore;
        long tunnel = TunnelPids.Sum(BenchShell.ProcessJiffies) - tunnelBefore;
        double wall = clock.Elapsed.TotalSeconds;
        long drops = BenchShell.UdpRcvbufErrors(a) + BenchShell.UdpRcvbufErrors(b) - dropsBefore;
        iperfServer.WaitForExit(5000);
        foreach (string ns in new[] { a, b })
        {
            // Kernel-side drops on the tunnel devices (TUN/wg queue overflow) explain TCP retransmits without UDP drops.
            foreach (string line in BenchShell.Run("ip", "-n", ns, "-s", "-o", "link", "show").Split('\n'))
            {
                if (line.Contains(": ovk", StringComparison.Ordinal) || line.Contains(": wg", StringComparison.Ordinal))
                {
                    Console.WriteLine($"   {ns}: {System.Text.RegularExpressions.Regex.Replace(line, @"\s+", " ")}");
                }
            }
        }
        var end = JsonNode.Parse(json)!["end"]!;
        double bps = end["sum_received"]!["bits_per_second"]!.GetValue<double>();
        long bytes = end["sum_received"]!["bytes"]!.GetValue<long>();
        long retransmits = end["sum_sent"]!["retransmits"]?.GetValue<long>() ?? 0;
        double cpuSeconds = busy / 100.0; // USER_HZ
        double cpuPerGb = cpuSeconds / (bytes / 1e9);
        double tunnelPerGb = tunnel / 100.0 / (bytes / 1e9);
        double tunnelPercent = tunnel / 100.0 / wall * 100;

        string[] ping = ["ip", "netns", "exec", a, "ping", "-c", "20", "-i", "0.05", "-q", "-I", addressA, addressB];
        string pingOut = BenchShell.Run(ping);
        // "rtt min/avg/max/mdev = 0.045/0.061/0.083/0.010 ms"
        string stats = pingOut.Split('\n').First(l => l.Contains("min/avg/max", StringComparison.Ordinal));
        double pingAvg = double.Parse(stats.Split('=')[1].Trim().Split('/')[1], CultureInfo.InvariantCulture);

        double rr = EnginePath.RequestResponse.MeanMicros(a, b, addressA, addressB, 2000);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"   {bps / 1e9:F2} Gbit/s, {cpuPerGb:F2} CPU s/GB, {drops} UDP drops, ping {pingAvg:F3} ms, 1-byte RR {rr:F0} us"));
        return new Result(name, bps / 1e9, cpuPerGb, tunnelPerGb, tunnelPercent, drops, pingAvg, rr, retransmits);
    }

    private static void SetUpWireGuard(string a, string b, string dir, List<Process> processes) =>
        processes.AddRange(Peers.WireGuardTunnel.SetUp((a, "10.99.0.1", "10.2.0.1"), (b, "10.99.0.2", "10.2.0.2"), dir));

    private static string AgentControl(string ns) => Path.Combine(Path.GetTempPath(), ns + ".control.sock");

    private static async Task SetUpOverlay(string a, string b, string dir, string agent, List<Process> processes)
    {
        byte[] key = RandomNumberGenerator.GetBytes(32);
        (string ns, string domain, string self, string app, string address, int table, string peer, string peerUnderlay)[] sides =
        [
            (a, "vmA", "10.99.0.1", "client", "10.1.0.1", 101, "vmB", "10.99.0.2"),
            (b, "vmB", "10.99.0.2", "server", "10.1.0.2", 102, "vmA", "10.99.0.1"),
        ];
        foreach (var s in sides)
        {
            string channel = Path.Combine(dir, s.ns + ".channel.sock");
            processes.Add(BenchShell.Start(null, "ip", "netns", "exec", s.ns, agent, "serve", "--channel-socket", channel,
                "--control", AgentControl(s.ns), "--state-dir", Path.Combine(dir, s.ns + ".state")));
            for (int i = 0; i < 200 && !File.Exists(channel); i++)
            {
                Thread.Sleep(50);
            }
            var members = new List<MemberConfig>
            {
                new("client", "10.1.0.1", "vmA", "10.99.0.1", "h"),
                new("server", "10.1.0.2", "vmB", "10.99.0.2", "h"),
            };
            var doc = MemberRouting.Apply(new DomainConfigDocument(DomainConfigDocument.CurrentFormat, s.domain, 1, "", s.self, "h",
                [new LocalAppConfig("web", s.app, s.address, s.table, [new RouteEntry("10.1.0.0/16", "adapter", 100)], [])],
                [new GroupConfig("web", "10.1.0.0/16", "Sealed", members, [new CredentialConfig(1, key.ToArray(), null)])]),
                OverlayKvm.Core.DirectoryService.PathClassifier.Standard);
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(channel));
            var connection = new ChannelConnection(new NetworkStream(socket, ownsSocket: true));
            await connection.WriteJsonAsync(ChannelMessageType.Hello, new HelloMessage(ChannelProtocol.Version, "host", "bench"), ChannelJsonContext.Default.HelloMessage, default);
            await connection.WriteJsonAsync(ChannelMessageType.Config, doc, ChannelJsonContext.Default.DomainConfigDocument, default);
            while (true)
            {
                var m = await connection.ReadAsync(default) ?? throw new IOException("agent closed the channel");
                if (m.Type == ChannelMessageType.ConfigAck)
                {
                    var ack = ChannelConnection.TryParse(m.Payload, ChannelJsonContext.Default.ConfigAckMessage, out _);
                    if (ack is not { Applied: true })
                    {
                        throw new InvalidOperationException($"agent in {s.ns} refused the document: {ack?.Error}");
                    }
                    break;
                }
            }
            // The connection stays open (the host side of the channel) until the bench ends.
            _ = connection;
        }
    }
}
