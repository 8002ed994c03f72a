using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using OverlayKvm.Core.Model;
using OverlayKvm.HostDaemon.Store;

namespace OverlayKvm.Bench.Api;

/// <summary>
/// app-define throughput through the whole API path (HTTP over the unix socket → validation → SQLite commit with
/// synchronous=FULL) at 1 and 8 concurrent clients, beside the same defines straight into the store in-process
/// (the baseline: what the API and HTTP add on top of the durable commit).
/// Usage: OverlayKvm.Bench api-throughput [COUNT] [--overlayd PATH]
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
            var baseline = StoreBaseline(Path.Combine(root, "baseline.db"), count);
            Console.WriteLine($"store in-process, 1 writer : {count} defines in {baseline.TotalSeconds:0.00} s = {count / baseline.TotalSeconds,8:0} defines/s");
            foreach (var clients in new[] { 1, 8 })
            {
                var elapsed = await ThroughApi(overlayd, Path.Combine(root, $"api{clients}"), count, clients);
                Console.WriteLine($"API over unix socket, {clients} client(s): {count} defines in {elapsed.TotalSeconds:0.00} s = {count / elapsed.TotalSeconds,8:0} defines/s (ratio to store: {baseline.TotalSeconds / elapsed.TotalSeconds:0.00})");
            }
            return 0;
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static TimeSpan StoreBaseline(string path, int count)
    {
        using var store = new SqliteOverlayStore(path, "bench", TimeProvider.System, null);
        store.DefineGroup("bench", IPNetwork.Parse("10.64.0.0/12"), ProtectionLevel.Sealed);
        var watch = Stopwatch.StartNew();
        for (int i = 0; i < count; i++) store.DefineApplication("bench", $"app{i}", null, $"vm{i % 16}", []);
        return watch.Elapsed;
    }

    private static async Task<TimeSpan> ThroughApi(string overlayd, string dir, int count, int clients)
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
        for (int i = 0; i < 200; i++)
        {
            try { using var r = await http.GetAsync("v1/health"); if (r.IsSuccessStatusCode) return; }
            catch (HttpRequestException) { /* not listening yet */ }
            await Task.Delay(50);
        }
        throw new TimeoutException("overlayd did not answer /v1/health within 10 s");
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
