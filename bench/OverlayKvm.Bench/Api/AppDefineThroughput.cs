using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using OverlayKvm.Core.Model;
using OverlayKvm.HostDaemon.Store;
using OverlayKvm.HostDaemon.Store.Etcd;

namespace OverlayKvm.Bench.Api;

/// <summary>
/// app-define throughput through the whole API path (HTTP over the unix socket → validation → durable commit) at
/// 1 and 8 concurrent clients, beside the same defines straight into the store in-process (the baseline: what
/// the API and HTTP add on top of the commit), for both stores in the same run: SQLite (synchronous=FULL) and
/// etcd (a 3-member cluster on loopback, started here on ports 32391-32393 / 32491-32493; one Txn per define).
/// Usage: OverlayKvm.Bench api-throughput [COUNT] [--overlayd PATH] [--sqlite-only]
/// </summary>
internal static class AppDefineThroughput
{
    public static async Task<int> RunAsync(string[] args)
    {
        int count = args.Length > 0 && int.TryParse(args[0], out var n) ? n : 2000;
        var overlayd = args.SkipWhile(a => a != "--overlayd").Skip(1).FirstOrDefault() ?? FindOverlayd();
        var root = Directory.CreateTempSubdirectory("okvm-bench-").FullName;
        try
        {
            var baseline = StoreBaseline(new SqliteOverlayStore(Path.Combine(root, "baseline.db"), "bench", TimeProvider.System, null), count);
            Report("sqlite", baseline, count);
            foreach (var clients in new[] { 1, 8 })
            {
                var elapsed = await ThroughApi(overlayd, Path.Combine(root, $"api{clients}"), count, clients, []);
                Report("sqlite", baseline, count, clients, elapsed);
            }

            if (args.Contains("--sqlite-only"))
            {
                return 0;
            }

            using var etcd = new OverlayKvm.Tests.Etcd.EtcdCluster(32391);
            var key = Path.Combine(root, "cluster.key");
            File.WriteAllBytes(key, System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
            File.SetUnixFileMode(key, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            var options = new EtcdStoreOptions { Endpoints = etcd.Endpoints, Prefix = "/bench-baseline/", ClusterKey = key };
            var etcdBaseline = StoreBaseline(new EtcdOverlayStore(options, "bench"), count);
            Report("etcd  ", etcdBaseline, count);
            foreach (var clients in new[] { 1, 8 })
            {
                string[] store = ["--store", "etcd", "--etcd-endpoints", etcd.Endpoints, "--etcd-prefix", $"/bench-api{clients}/", "--cluster-key", key];
                var elapsed = await ThroughApi(overlayd, Path.Combine(root, $"etcd-api{clients}"), count, clients, store);
                Report("etcd  ", etcdBaseline, count, clients, elapsed);
            }

            return 0;
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static void Report(string store, TimeSpan baseline, int count, int clients = 0, TimeSpan? api = null)
    {
        if (api is not { } elapsed)
        {
            Console.WriteLine($"{store} store in-process, 1 writer : {count} defines in {baseline.TotalSeconds:0.00} s = {count / baseline.TotalSeconds,8:0} defines/s");
            return;
        }

        Console.WriteLine($"{store} API over unix socket, {clients} client(s): {count} defines in {elapsed.TotalSeconds:0.00} s = {count / elapsed.TotalSeconds,8:0} defines/s (ratio to store: {baseline.TotalSeconds / elapsed.TotalSeconds:0.00})");
    }

    private static TimeSpan StoreBaseline(Core.Store.IOverlayStore opened, int count)
    {
        using var store = opened;
        store.DefineGroup("bench", IPNetwork.Parse("10.64.0.0/12"), ProtectionLevel.Sealed);
        var watch = Stopwatch.StartNew();
        for (int i = 0; i < count; i++) store.DefineApplication("bench", $"app{i}", null, $"vm{i % 16}", []);
        return watch.Elapsed;
    }

    private static async Task<TimeSpan> ThroughApi(string overlayd, string dir, int count, int clients, string[] storeArguments)
    {
        Directory.CreateDirectory(dir);
        var socket = Path.Combine(dir, "overlayd.sock");
        var psi = new ProcessStartInfo(overlayd)
        {
            ArgumentList = { "--socket", socket, "--state-dir", Path.Combine(dir, "state"), "--channel-dir", Path.Combine(dir, "channels"),
                "--host-name", "bench", "--host-address", "192.0.2.1" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in storeArguments) psi.ArgumentList.Add(argument);
        psi.Environment["OVERLAYKVM_LIBVIRT__EVENTSERVICEENABLED"] = "false";
        psi.Environment["OVERLAYKVM_ENGINE__DIRECTORY"] = Path.Combine(dir, "shm");
        Directory.CreateDirectory(Path.Combine(dir, "shm"));
        using var daemon = Process.Start(psi)!;
        // Drain the daemon's output: an unread pipe fills up and blocks its logger (and with it the daemon).
        daemon.OutputDataReceived += static (_, _) => { };
        daemon.ErrorDataReceived += static (_, _) => { };
        daemon.BeginOutputReadLine();
        daemon.BeginErrorReadLine();
        try
        {
            using var http = Client(socket);
            await WaitReady(http);
            await Post(http, "v1/groups", "{\"name\":\"bench\",\"cidr\":\"10.64.0.0/12\"}");
            var watch = Stopwatch.StartNew();
            var workers = new Task[clients];
            for (int c = 0; c < clients; c++)
            {
                int first = c;
                workers[c] = Task.Run(async () =>
                {
                    for (int i = first; i < count; i += clients)
                        await Post(http, "v1/apps", $"{{\"group\":\"bench\",\"name\":\"app{i}\",\"domain\":\"vm{i % 16}\"}}");
                });
            }
            await Task.WhenAll(workers);
            return watch.Elapsed;
        }
        finally
        {
            daemon.Kill();
            await daemon.WaitForExitAsync();
        }
    }

    private static async Task Post(HttpClient http, string path, string json)
    {
        using var r = await http.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));
        if (r.StatusCode != HttpStatusCode.Created)
            throw new InvalidOperationException($"POST {path} answered {(int)r.StatusCode}: {await r.Content.ReadAsStringAsync()}");
    }

    private static async Task WaitReady(HttpClient http)
    {
        // 60 s: on a busy 2-core machine a cold overlayd (JIT, store open) can take well over 10 s.
        for (int i = 0; i < 1200; i++)
        {
            try { using var r = await http.GetAsync("v1/health"); if (r.IsSuccessStatusCode) return; }
            catch (HttpRequestException) { /* not listening yet */ }
            await Task.Delay(50);
        }
        throw new TimeoutException("overlayd did not answer /v1/health within 60 s");
    }

    private static HttpClient Client(string socket) => new(new SocketsHttpHandler
    {
        MaxConnectionsPerServer = 16,
        ConnectCallback = async (_, ct) =>
        {
            var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await s.ConnectAsync(new UnixDomainSocketEndPoint(socket), ct);
            return new NetworkStream(s, ownsSocket: true);
        },
    }) { BaseAddress = new Uri("http://overlayd/") };

    private static string FindOverlayd()
    {
        var self = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/'));
        var path = Path.Combine(self.Parent!.Parent!.FullName, "OverlayKvm.HostDaemon", self.Name, "overlayd");
        return File.Exists(path) ? path : throw new FileNotFoundException($"overlayd not built at {path}; pass --overlayd PATH");
    }
}
