using System.Diagnostics;
using System.Runtime.Versioning;
using OverlayKvm.Bench.Datapath;
using OverlayKvm.Bench.Peers;

namespace OverlayKvm.Bench.EnginePath;

/// <summary>
/// The peers measured beside the engine and sealed paths in the same `path` run: wireguard-go (10.2.0.1 ↔ 10.2.0.2)
/// and Nebula (10.3.0.1 ↔ 10.3.0.2), both over the bench's veth underlay (10.97.0.1 ↔ 10.97.0.2), their processes
/// tracked by the <see cref="PathBench"/> (stopped by PID at its Dispose) and their keys in its private folder.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed class PathPeers
{
    public const string WireGuardA = "10.2.0.1";
    public const string WireGuardB = "10.2.0.2";
    public const string NebulaA = "10.3.0.1";
    public const string NebulaB = "10.3.0.2";

    private readonly List<int> _wireGuard = new();
    private readonly List<int> _nebula = new();

    private PathPeers()
    {
    }

    /// <summary>Starts both tunnels and waits until each carries a ping both ways (Nebula handshakes on first use).</summary>
    public static PathPeers SetUp(PathBench bench)
    {
        var peers = new PathPeers();
        foreach (Process p in WireGuardTunnel.SetUp((bench.A, "10.97.0.1", WireGuardA), (bench.B, "10.97.0.2", WireGuardB), bench.Folder))
        {
            peers._wireGuard.Add(bench.Track(p).Id);
        }

        foreach (Process p in NebulaTunnel.SetUp((bench.A, "10.97.0.1", NebulaA), (bench.B, "10.97.0.2", NebulaB), Path.Combine(bench.Folder, "nebula")))
        {
            peers._nebula.Add(bench.Track(p).Id); // `ip netns exec` execs in place: the PID is the tunnel's
        }

        foreach ((string name, string from, string to) in new[] { ("wireguard-go", WireGuardA, WireGuardB), ("nebula", NebulaA, NebulaB) })
        {
            PathBench.WaitUntil(() =>
            {
                BenchShell.Run("ip", "netns", "exec", bench.A, "ping", "-c", "1", "-W", "1", "-I", from, to);
                return true;
            }, TimeSpan.FromSeconds(30), $"{name} to carry a ping {from} -> {to}");
        }

        return peers;
    }

    /// <summary>CPU time (jiffies) the two wireguard-go processes used so far.</summary>
    public long WireGuardJiffies() => Sum(_wireGuard);

    /// <summary>CPU time (jiffies) the two nebula processes used so far.</summary>
    public long NebulaJiffies() => Sum(_nebula);

    private static long Sum(List<int> pids)
    {
        long sum = 0;
        foreach (int pid in pids)
        {
            sum += BenchShell.ProcessJiffies(pid);
        }

        return sum;
    }
}
