using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Runtime.Versioning;
using System.Text;
using System.Text.Json.Nodes;
using OverlayKvm.Bench.Datapath;
using OverlayKvm.TestSupport;

namespace OverlayKvm.Bench.EnginePath;

/// <summary>
/// The topology of the whole-path benchmark, built with the real binaries: namespaces A ("vmA") and B ("vmB") with a
/// veth underlay 10.97.0.1 ↔ 10.97.0.2, overlayd (own socket, state, channel and engine folders; libvirt events off),
/// an overlay-agent per namespace mapping the engine regions from the daemon's folder, the daemon reaching the agents
/// through symlinks in its channel folder, and the apps client/server held up by `overlay-agent run`.
/// Dispose stops every process it started (by PID) and deletes the namespaces and the folder; it is idempotent and
/// safe to call from the Ctrl-C handler.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed class PathBench : IDisposable
{
    private readonly string _bin;
    private readonly string _dir;
    private readonly string _socket;
    private readonly List<Process> _processes = new();
    private readonly List<int> _agentPids = new();
    private readonly Lock _gate = new();
    private bool _disposed;

    private readonly string? _agentBinary;
    private readonly string[] _agentFlags;

    /// <param name="agentBinary">The overlay-agent to run (bench/run.sh passes the Native AOT one, as guests run it);
    /// null: the build output of <paramref name="configuration"/>.</param>
    /// <param name="agentFlags">More `serve` flags for both agents (e.g. ["--tun-offloads", "off"]).</param>
    public PathBench(string configuration, string? agentBinary = null, string[]? agentFlags = null)
    {
        _agentBinary = agentBinary;
        _agentFlags = agentFlags ?? [];
        _bin = Path.Combine(RepoRoot(), "artifacts", "bin");
        Configuration = configuration;
        string suffix = Guid.NewGuid().ToString("N")[..6];
        A = "okvp-a-" + suffix;
        B = "okvp-b-" + suffix;
        _dir = Directory.CreateTempSubdirectory("okvp-").FullName;
        _socket = Path.Combine(_dir, "overlayd.sock");
    }

    public string A { get; }

    public string B { get; }

    public string Configuration { get; }

    /// <summary>The run's private folder (0700, deleted by Dispose): keys and certificates of the peer tunnels go here.</summary>
    public string Folder => _dir;

    private string Binary(string project, string name)
    {
        string path = Path.Combine(_bin, project, Configuration, name);
        return File.Exists(path) ? path : throw new FileNotFoundException($"{name} not built at {path} (dotnet build -c {Configuration})");
    }

    public void SetUp()
    {
        foreach (string tool in new[] { "ip", "iperf3", "ping" })
        {
            if (!File.Exists($"/usr/bin/{tool}") && !File.Exists($"/usr/sbin/{tool}") && !File.Exists($"/bin/{tool}") && !File.Exists($"/sbin/{tool}"))
            {
                throw new InvalidOperationException($"prerequisite missing: {tool} (bench/run.sh installs iperf3 and iputils-ping)");
            }
        }

        BenchVeth.Create(A, B, "10.97.0");

        string engineDir = Path.Combine(_dir, "shm");
        string channelDir = Path.Combine(_dir, "channels");
        Directory.CreateDirectory(engineDir);
        Directory.CreateDirectory(channelDir);
        Track(BenchShell.Start(new Dictionary<string, string>
        {
            ["OVERLAYKVM_ENGINE__DIRECTORY"] = engineDir,
            ["OVERLAYKVM_LIBVIRT__EVENTSERVICEENABLED"] = "false",
        }, Binary("OverlayKvm.HostDaemon", "overlayd"), "--socket", _socket, "--state-dir", Path.Combine(_dir, "state"),
            "--channel-dir", channelDir, "--host-name", "benchhost", "--host-address", "192.0.2.1"));
        WaitUntil(() => File.Exists(_socket) && TryCtl("group-list"), TimeSpan.FromSeconds(30), "overlayd to answer on its socket");

        // PATH_CIPHER (bench/run.sh): the group's cipher, so the sealed path can be measured with AEGIS-256 (issue 16).
        string? cipher = Environment.GetEnvironmentVariable("PATH_CIPHER");
        Ctl(["group-define", "web", "--cidr", "10.1.0.0/16", .. string.IsNullOrEmpty(cipher) ? Array.Empty<string>() : ["--cipher", cipher]]);
        Ctl("domain-define", "vmA", "--address", "10.97.0.1");
        Ctl("domain-define", "vmB", "--address", "10.97.0.2");
        Ctl("app-define", "web", "client", "--domain", "vmA", "--address", "10.1.0.1");
        Ctl("app-define", "web", "server", "--domain", "vmB", "--address", "10.1.0.2");

        string agent = _agentBinary ?? Binary("OverlayKvm.GuestAgent", "overlay-agent");
        if (!File.Exists(agent))
        {
            throw new FileNotFoundException($"overlay-agent not found at {agent}");
        }
        foreach ((string ns, string domain) in new[] { (A, "vmA"), (B, "vmB") })
        {
            string channel = Path.Combine(_dir, domain + ".channel.sock");
            Process p = Track(BenchShell.Start(null, ["ip", "netns", "exec", ns, agent, "serve", "--channel-socket", channel,
                "--control", ControlSocket(domain), "--state-dir", Path.Combine(_dir, domain + ".state"), "--engine-dir", engineDir, .. _agentFlags]));
            WaitUntil(() => File.Exists(channel) && File.Exists(ControlSocket(domain)), TimeSpan.FromSeconds(30), $"agent {domain} sockets");
            File.CreateSymbolicLink(Path.Combine(channelDir, domain + ".agent.sock"), channel);
            _agentPids.Add(p.Id); // `ip netns exec` execs the agent in place: the PID we started is the agent's
        }

        long version = JsonNode.Parse(Ctl("--json", "domain-config", "vmA"))!["version"]!.GetValue<long>();
        WaitUntil(() => JsonNode.Parse(Ctl("--json", "channel-list")) is JsonArray { Count: 2 } channels &&
                channels.All(c => c!["connected"]!.GetValue<bool>() && c["acknowledgedVersion"]!.GetValue<long>() >= version),
            TimeSpan.FromSeconds(30), $"both agents to apply configuration version {version}");

        foreach ((string ns, string domain, string app, string address) in new[] { (A, "vmA", "client", "10.1.0.1"), (B, "vmB", "server", "10.1.0.2") })
        {
            Track(BenchShell.Start(null, "ip", "netns", "exec", ns, agent, "run", "--app", app, "--control", ControlSocket(domain), "--", "sleep", "3600"));
            WaitUntil(() => BenchShell.Run("ip", "-n", ns, "-4", "addr", "show").Contains(address + "/32", StringComparison.Ordinal),
                TimeSpan.FromSeconds(30), $"address {address} of app {app}");
        }

        foreach (string domain in new[] { "vmA", "vmB" })
        {
            WaitUntil(() => Stat(domain)["engine"]?["attached"] is JsonArray { Count: > 0 }, TimeSpan.FromSeconds(30), $"agent {domain} to attach to web's engine region");
        }
    }

    /// <summary>Short exchanges until both agents hold an "accessible" answer for each other (packets go to the rings).</summary>
    public void WarmUpEngine()
    {
        WaitUntil(() =>
        {
            long before = AgentCounter("vmA", "engine", "packetsOut") + AgentCounter("vmB", "engine", "packetsOut");
            BenchShell.Run("ip", "netns", "exec", A, "ping", "-c", "5", "-i", "0.05", "-I", "10.1.0.1", "10.1.0.2");
            long after = AgentCounter("vmA", "engine", "packetsOut") + AgentCounter("vmB", "engine", "packetsOut");
            return after - before >= 10;
        }, TimeSpan.FromSeconds(30), "pings to take the engine path both ways");
    }

    public string Ctl(params string[] args) => BenchShell.Run([Binary("OverlayKvm.Cli", "overlayctl"), "--connect", _socket, .. args]);

    private bool TryCtl(params string[] args)
    {
        try
        {
            Ctl(args);
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>A counter of group web on an agent: path "engine" or "sealed", field e.g. "packetsOut".</summary>
    public long AgentCounter(string domain, string path, string field)
    {
        foreach (JsonNode? g in Stat(domain)["groups"]!.AsArray())
        {
            if (g!["group"]!.GetValue<string>() == "web")
            {
                return g[path]![field]!.GetValue<long>();
            }
        }

        throw new InvalidOperationException($"agent {domain} reports no group web");
    }

    /// <summary>The agent's engine fallback counters (reason → packets that took the sealed path instead).</summary>
    public Dictionary<string, long> Fallbacks(string domain)
    {
        var result = new Dictionary<string, long>(StringComparer.Ordinal);
        if (Stat(domain)["engine"]?["fallbacks"] is JsonObject fallbacks)
        {
            foreach (KeyValuePair<string, JsonNode?> pair in fallbacks)
            {
                result[pair.Key] = pair.Value!.GetValue<long>();
            }
        }

        return result;
    }

    /// <summary>CPU time (jiffies) the two agent processes used so far.</summary>
    public long AgentJiffies()
    {
        long sum = 0;
        foreach (int pid in _agentPids)
        {
            sum += BenchShell.ProcessJiffies(pid);
        }

        return sum;
    }

    /// <summary>CPU time (jiffies) per agent thread so far, keyed "domain/thread-name/tid".</summary>
    /// <summary>
    /// CPU time per agent thread in nanoseconds (/proc/PID/task/TID/schedstat, first field): an idle agent's few
    /// milliseconds over 10 s are below the 10 ms resolution of the jiffies in /proc/.../stat.
    /// </summary>
    public Dictionary<string, long> AgentThreadCpuNanoseconds()
    {
        var result = new Dictionary<string, long>(StringComparer.Ordinal);
        for (int i = 0; i < _agentPids.Count; i++)
        {
            foreach (string task in Directory.EnumerateDirectories($"/proc/{_agentPids[i]}/task"))
            {
                try
                {
                    string name = File.ReadAllText(Path.Combine(task, "comm")).Trim();
                    string schedstat = File.ReadAllText(Path.Combine(task, "schedstat"));
                    result[$"{(i == 0 ? "vmA" : "vmB")}/{name}/{Path.GetFileName(task)}"] = long.Parse(schedstat.Split(' ')[0], CultureInfo.InvariantCulture);
                }
                catch (IOException)
                {
                    // The thread ended between listing and reading.
                }
            }
        }

        return result;
    }

    private JsonNode Stat(string domain)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Connect(new UnixDomainSocketEndPoint(ControlSocket(domain)));
        using var stream = new NetworkStream(socket);
        stream.Write("{\"op\":\"stat\"}\n"u8);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        JsonNode answer = JsonNode.Parse(reader.ReadLine() ?? throw new IOException($"agent {domain} closed its control socket"))!;
        return answer["ok"]?.GetValue<bool>() == true ? answer["stat"]! : throw new InvalidOperationException($"agent {domain} stat failed: {answer["error"]}");
    }

    private string ControlSocket(string domain) => Path.Combine(_dir, domain + ".control.sock");

    public Process Track(Process p)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _processes.Add(p);
        }

        return p;
    }

    /// <summary>Polls until the condition holds; a socket not up yet (IO/socket errors) counts as "not yet".</summary>
    internal static void WaitUntil(Func<bool> condition, TimeSpan timeout, string what) =>
        Poll.Until(() =>
        {
            try
            {
                return condition();
            }
            catch (Exception e) when (e is IOException or SocketException or InvalidOperationException)
            {
                return false; // not up yet: retry until the deadline
            }
        }, timeout, what, interval: TimeSpan.FromMilliseconds(100));

    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "OverlayKvm.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("cannot find the repository root (OverlayKvm.sln) above the bench binary");
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            // Apps first (they unregister), then agents and the daemon, then namespaces (TUN devices, veth) and files.
            for (int i = _processes.Count - 1; i >= 0; i--)
            {
                BenchShell.Stop(_processes[i]);
            }

            foreach (string ns in new[] { A, B })
            {
                try
                {
                    // Whatever still runs inside our namespaces (an iperf3 or ping the main thread was waiting for
                    // when a signal arrived): killed by PID before the namespace goes.
                    foreach (string pid in BenchShell.Run("ip", "netns", "pids", ns).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                    {
                        OverlayKvm.Core.Interop.Interop.Kill(int.Parse(pid, CultureInfo.InvariantCulture), 9);
                    }

                    BenchShell.Run("ip", "netns", "del", ns);
                }
                catch (InvalidOperationException e)
                {
                    Console.Error.WriteLine($"cleanup: {e.Message}");
                }
            }

            Directory.Delete(_dir, recursive: true);
        }
    }
}
