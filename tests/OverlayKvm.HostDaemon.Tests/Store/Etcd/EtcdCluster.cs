using System.Diagnostics;

namespace OverlayKvm.Tests.Etcd;

/// <summary>
/// A real etcd cluster of <c>members</c> processes on loopback (Debian etcd-server), data in a private temp
/// directory. Ports come from the ek range (clients 32379-32399, peers 32479-32499) so concurrent test runs of
/// other engineers never collide. Members are killed by PID in <see cref="Dispose"/>, also after a failure.
/// </summary>
public sealed class EtcdCluster : IDisposable
{
    private const string Binary = "/usr/bin/etcd";
    private readonly Process?[] _members;
    private readonly int _firstClientPort;
    private readonly string _token = "ek-" + Guid.NewGuid().ToString("N")[..8];

    /// <param name="firstClientPort">Client port of member 0; member i uses +i, its peer port +100.</param>
    public EtcdCluster(int firstClientPort, int members = 3)
    {
        if (!File.Exists(Binary))
        {
            throw new InvalidOperationException($"prerequisite missing: {Binary} (Debian etcd-server; run scripts/setup.sh)");
        }

        // The store tests use 32379-32399 (peers +100), the cluster tests 33379-33399: never the same ports at once.
        if (!InRange(firstClientPort, members, 32379, 32399) && !InRange(firstClientPort, members, 33379, 33399))
        {
            throw new ArgumentOutOfRangeException(nameof(firstClientPort), "the etcd test ranges are 32379-32399 (store tests) and 33379-33399 (cluster tests)");
        }

        _firstClientPort = firstClientPort;
        _members = new Process?[members];
        DataDirectory = Directory.CreateTempSubdirectory("ek-etcd-").FullName;
        try
        {
            for (var i = 0; i < members; i++)
            {
                Start(i, existing: false);
            }

            WaitHealthy(TimeSpan.FromSeconds(30));
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string DataDirectory { get; }

    private static bool InRange(int first, int members, int low, int high) => first >= low && first + members - 1 <= high;

    public int Count => _members.Length;

    /// <summary>All client URLs, comma-separated, as overlayd's --etcd-endpoints takes them.</summary>
    public string Endpoints => string.Join(',', Enumerable.Range(0, Count).Select(ClientUrl));

    public string ClientUrl(int member) => $"http://127.0.0.1:{_firstClientPort + member}";

    private string PeerUrl(int member) => $"http://127.0.0.1:{_firstClientPort + 100 + member}";

    public bool IsRunning(int member) => _members[member] is { HasExited: false };

    /// <summary>Kills one member at once (SIGKILL), as a crash would.</summary>
    public void Kill(int member)
    {
        if (_members[member] is { } process)
        {
            try
            {
                process.Kill();
                process.WaitForExit(10_000);
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }

            process.Dispose();
            _members[member] = null;
        }
    }

    /// <summary>Restarts a killed member on its old data directory; it rejoins the cluster.</summary>
    public void Restart(int member) => Start(member, existing: true);

    /// <summary>Waits until every running member answers /health with true (a leader exists).</summary>
    public void WaitHealthy(TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + timeout;
        string last = "no answer yet";
        while (DateTime.UtcNow < deadline)
        {
            var healthy = true;
            for (var i = 0; i < Count && healthy; i++)
            {
                if (!IsRunning(i))
                {
                    continue;
                }

                try
                {
                    last = http.GetStringAsync(ClientUrl(i) + "/health").GetAwaiter().GetResult();
                    healthy = last.Contains("\"health\":\"true\"", StringComparison.Ordinal);
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    last = $"{ClientUrl(i)}: {e.Message}";
                    healthy = false;
                }
            }

            if (healthy)
            {
                return;
            }

            Thread.Sleep(100);
        }

        throw new TimeoutException($"etcd cluster in {DataDirectory} not healthy within {timeout.TotalSeconds} s: {last}; logs: {string.Join(", ", Enumerable.Range(0, Count).Select(LogPath))}");
    }

    public string LogPath(int member) => Path.Combine(DataDirectory, $"m{member}.log");

    /// <summary>Runs etcdctl against the cluster and returns its stdout (throws with stderr on failure).</summary>
    public string Etcdctl(params string[] arguments)
    {
        var info = new ProcessStartInfo("/usr/bin/etcdctl") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.Environment["ETCDCTL_API"] = "3";
        info.ArgumentList.Add("--endpoints=" + Endpoints);
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException("etcdctl did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEnd();
        if (!process.WaitForExit(30_000))
        {
            process.Kill();
            throw new TimeoutException("etcdctl did not finish within 30 s");
        }

        return process.ExitCode == 0 ? stdout.Result : throw new InvalidOperationException($"etcdctl {string.Join(' ', arguments)} exited {process.ExitCode}: {stderr}");
    }

    public void Dispose()
    {
        for (var i = 0; i < _members.Length; i++)
        {
            Kill(i);
        }

        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // A member's last write racing the delete: the next attempt (temp cleaning) removes the rest.
        }
    }

    private void Start(int member, bool existing)
    {
        var cluster = string.Join(',', Enumerable.Range(0, Count).Select(i => $"m{i}={PeerUrl(i)}"));
        // Through sh's exec so the PID we hold is etcd's own and its log goes straight to a file.
        var info = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add($"exec \"$0\" \"$@\" >>'{LogPath(member)}' 2>&1");
        info.ArgumentList.Add(Binary);
        foreach (var argument in new[]
                 {
                     "--name", $"m{member}",
                     "--data-dir", Path.Combine(DataDirectory, $"m{member}"),
                     "--listen-client-urls", ClientUrl(member),
                     "--advertise-client-urls", ClientUrl(member),
                     "--listen-peer-urls", PeerUrl(member),
                     "--initial-advertise-peer-urls", PeerUrl(member),
                     "--initial-cluster", cluster,
                     "--initial-cluster-token", _token,
                     "--initial-cluster-state", existing ? "existing" : "new",
                     // Fast failover on loopback, but not so fast that a busy 2-core machine triggers elections.
                     "--heartbeat-interval", "100",
                     "--election-timeout", "1000",
                     "--logger", "zap",
                     "--log-outputs", "stderr",
                 })
        {
            info.ArgumentList.Add(argument);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException($"etcd member m{member} did not start");
        _members[member] = process;
    }
}
