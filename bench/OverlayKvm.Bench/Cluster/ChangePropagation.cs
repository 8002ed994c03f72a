using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.Versioning;
using System.Text;
using System.Text.Json.Nodes;
using OverlayKvm.Bench.Datapath;

namespace OverlayKvm.Bench.Cluster;

/// <summary>
/// Change propagation across hosts (issue 11): a 3-member etcd on loopback (ports 33390-33392, peers +100), overlayd
/// for host hA and for host hB on it, and host hB's VM vmB — a namespace with a real overlay-agent. Each change is
/// one app-define through hA's API (HTTP on its unix socket: no CLI start-up in the figure); the time until vmB's
/// agent reports the new document version (its control socket) is one sample. Prints p50, p99 and max.
/// Usage: OverlayKvm.Bench change-propagation [CHANGES] [debug|release]
/// </summary>
[SupportedOSPlatform("linux")]
internal static class ChangePropagation
{
    public static async Task<int> RunAsync(string[] args)
    {
        int changes = args.Length > 0 && int.TryParse(args[0], out var n) ? n : 200;
        string configuration = args.Length > 1 ? args[1] : "release";
        var bin = Path.Combine(RepoRoot(), "artifacts", "bin");
        var dir = Directory.CreateTempSubdirectory("okvm-cl-bench-").FullName;
        var ns = "ovkb-cl-" + Guid.NewGuid().ToString("N")[..6];
        var processes = new List<Process>();
        try
        {
            var endpoints = StartEtcd(dir, processes);
            var key = Path.Combine(dir, "cluster.key");
            File.WriteAllBytes(key, System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
            File.SetUnixFileMode(key, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            string overlayd = Path.Combine(bin, "OverlayKvm.HostDaemon", configuration, "overlayd");
            var sockets = new Dictionary<string, string>();
            foreach (var (host, address) in new[] { ("hA", "192.168.77.1"), ("hB", "192.168.77.2") })
            {
                var hostDir = Path.Combine(dir, host);
                Directory.CreateDirectory(Path.Combine(hostDir, "channels"));
                Directory.CreateDirectory(Path.Combine(hostDir, "shm"));
                sockets[host] = Path.Combine(hostDir, "overlayd.sock");
                processes.Add(BenchShell.Start(new Dictionary<string, string>
                {
                    ["OVERLAYKVM_ENGINE__DIRECTORY"] = Path.Combine(hostDir, "shm"),
                    ["OVERLAYKVM_LIBVIRT__EVENTSERVICEENABLED"] = "false",
                }, overlayd, "--socket", sockets[host], "--state-dir", Path.Combine(hostDir, "state"), "--channel-dir", Path.Combine(hostDir, "channels"),
                    "--host-name", host, "--host-address", address, "--store", "etcd", "--etcd-endpoints", endpoints, "--cluster-key", key));
            }

            using var hA = Http(sockets["hA"]);
            using var hB = Http(sockets["hB"]);
            await WaitAsync(async () => await Answers(hA) && await Answers(hB), "both overlayd to answer");
            await Post(hA, "v1/groups", """{"name":"web","cidr":"10.1.0.0/16"}""");
            await Post(hA, "v1/domains", """{"name":"vmA","address":"10.78.0.1","host":"hA"}""");
            await Post(hB, "v1/domains", """{"name":"vmB","address":"10.78.0.2","host":"hB"}""");
            await Post(hB, "v1/apps", """{"group":"web","name":"server","domain":"vmB","address":"10.1.0.2"}""");

            BenchShell.Run("ip", "netns", "add", ns);
            string channel = Path.Combine(dir, "vmB.channel.sock"), control = Path.Combine(dir, "vmB.control.sock");
            processes.Add(BenchShell.Start(null, "ip", "netns", "exec", ns, Path.Combine(bin, "OverlayKvm.GuestAgent", configuration, "overlay-agent"), "serve",
                "--channel-socket", channel, "--control", control, "--state-dir", Path.Combine(dir, "vmB.state")));
            await WaitAsync(() => Task.FromResult(File.Exists(channel) && File.Exists(control)), "the agent's sockets");
            File.CreateSymbolicLink(Path.Combine(dir, "hB", "channels", "vmB.agent.sock"), channel);
            await WaitAsync(() => Task.FromResult(AgentVersion(control) > 0), "vmB's first document");

            var samples = new List<double>(changes);
            for (int i = 0; i < changes; i++)
            {
                long before = AgentVersion(control);
                var clock = Stopwatch.StartNew();
                await Post(hA, "v1/apps", $$"""{"group":"web","name":"c{{i}}","domain":"vmA","address":"10.1.{{1 + i / 250}}.{{1 + i % 250}}"}""");
                while (AgentVersion(control) <= before)
                {
                    if (clock.Elapsed > TimeSpan.FromSeconds(30))
                    {
                        throw new TimeoutException($"change {i}: vmB's agent reports version {AgentVersion(control)} (before: {before}) after 30 s; " +
                                                   $"hB's channels: {await hB.GetStringAsync("v1/channels")}; hB's document of vmB: version " +
                                                   $"{JsonNode.Parse(await hB.GetStringAsync("v1/domains/vmB/config"))?["version"]}");
                    }
                    await Task.Delay(1);
                }
                samples.Add(clock.Elapsed.TotalMilliseconds);
            }

            samples.Sort();
            Console.WriteLine($"change propagation, app-define on hA -> document applied by vmB's agent on hB ({changes} changes, 3-member etcd, {configuration}):");
            Console.WriteLine($"  p50 {Percentile(samples, 0.50):0.0} ms, p99 {Percentile(samples, 0.99):0.0} ms, max {samples[^1]:0.0} ms");
            return 0;
        }
        finally
        {
            foreach (var p in Enumerable.Reverse(processes))
            {
                try { if (!p.HasExited) { p.Kill(); p.WaitForExit(10_000); } } catch (InvalidOperationException) { /* already gone */ }
            }
            BenchShell.Run("sh", "-c", $"ip netns del {ns} 2>/dev/null || true");
            Directory.Delete(dir, recursive: true);
        }
    }

    private static string StartEtcd(string dir, List<Process> processes)
    {
        const int firstClient = 33390;
        string Client(int i) => $"http://127.0.0.1:{firstClient + i}";
        string Peer(int i) => $"http://127.0.0.1:{firstClient + 100 + i}";
        var cluster = string.Join(',', Enumerable.Range(0, 3).Select(i => $"m{i}={Peer(i)}"));
        for (int i = 0; i < 3; i++)
        {
            processes.Add(BenchShell.Start(null, "etcd", "--name", $"m{i}", "--data-dir", Path.Combine(dir, $"etcd{i}"),
                "--listen-client-urls", Client(i), "--advertise-client-urls", Client(i), "--listen-peer-urls", Peer(i),
                "--initial-advertise-peer-urls", Peer(i), "--initial-cluster", cluster, "--initial-cluster-state", "new",
                "--initial-cluster-token", "okvm-bench", "--log-level", "error"));
        }
        return string.Join(',', Enumerable.Range(0, 3).Select(Client));
    }

    private static HttpClient Http(string socket) => new(new SocketsHttpHandler
    {
        ConnectCallback = async (_, ct) =>
        {
            var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await s.ConnectAsync(new UnixDomainSocketEndPoint(socket), ct);
            return new NetworkStream(s, ownsSocket: true);
        },
    })
    { BaseAddress = new Uri("http://overlayd/"), Timeout = TimeSpan.FromSeconds(30) };

    private static async Task<bool> Answers(HttpClient http)
    {
        try { return (await http.GetAsync("v1/health")).IsSuccessStatusCode; }
        catch (HttpRequestException) { return false; }
    }

    private static async Task Post(HttpClient http, string path, string json)
    {
        var response = await http.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"POST {path} {json}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    // The agent's applied document version, from its control socket (what `overlay-agent stat --json` prints).
    // -1 while the agent does not answer yet (its control socket refuses connections while it starts up).
    private static long AgentVersion(string control)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(control));
        }
        catch (SocketException)
        {
            return -1;
        }

        try
        {
            using var stream = new NetworkStream(socket);
            stream.Write("{\"op\":\"stat\"}\n"u8);
            using var reader = new StreamReader(stream);
            var answer = JsonNode.Parse(reader.ReadLine() ?? "{}");
            return answer?["stat"]?["configVersion"]?.GetValue<long>() ?? -1;
        }
        catch (IOException)
        {
            return -1;
        }
    }

    private static async Task WaitAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"timed out waiting for {what}");
            await Task.Delay(100);
        }
    }

    private static double Percentile(List<double> sorted, double p) => sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];

    private static string RepoRoot()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d is not null && !File.Exists(Path.Combine(d.FullName, "OverlayKvm.sln"))) d = d.Parent;
        return d?.FullName ?? throw new InvalidOperationException("OverlayKvm.sln not found");
    }
}
