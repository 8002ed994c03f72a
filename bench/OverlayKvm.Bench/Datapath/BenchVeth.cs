namespace OverlayKvm.Bench.Datapath;

/// <summary>
/// The underlay both namespace benches stand on: namespaces <c>a</c> and <c>b</c> (loopback up) joined by veth
/// va/vb with <c>{subnet}.1/24</c> and <c>{subnet}.2/24</c>. The caller deletes the namespaces, which removes the pair.
/// </summary>
internal static class BenchVeth
{
    public static void Create(string a, string b, string subnet)
    {
        foreach (string ns in new[] { a, b })
        {
            BenchShell.Run("ip", "netns", "add", ns);
            BenchShell.Run("ip", "-n", ns, "link", "set", "lo", "up");
        }
        BenchShell.Run("ip", "-n", a, "link", "add", "va", "type", "veth", "peer", "name", "vb", "netns", b);
        BenchShell.Run("ip", "-n", a, "addr", "add", subnet + ".1/24", "dev", "va");
        BenchShell.Run("ip", "-n", b, "addr", "add", subnet + ".2/24", "dev", "vb");
        BenchShell.Run("ip", "-n", a, "link", "set", "va", "up");
        BenchShell.Run("ip", "-n", b, "link", "set", "vb", "up");
    }
}
