using System.Diagnostics;
using OverlayKvm.Bench.Datapath;

namespace OverlayKvm.Bench.Peers;

/// <summary>
/// The wireguard-go baseline between two namespaces that share an underlay: one wireguard-go process per namespace
/// (foreground, so it is ours to stop by PID), fresh keys, UDP port 51820, wireguard-go's defaults otherwise (MTU
/// 1420, ChaCha20-Poly1305). Used by `throughput` and `path`.
/// </summary>
internal static class WireGuardTunnel
{
    public const int Port = 51820;

    /// <summary>
    /// Brings the tunnel up: <paramref name="overlayA"/>/<paramref name="overlayB"/> (a /24 each) on interfaces named
    /// after the namespaces, peers reaching each other at the underlay addresses. Private keys go to files (0600) in
    /// <paramref name="dir"/>, which the caller deletes. Returns the two wireguard-go processes (caller stops them).
    /// </summary>
    public static IReadOnlyList<Process> SetUp((string Ns, string Underlay, string Overlay) a, (string Ns, string Underlay, string Overlay) b, string dir)
    {
        var processes = new List<Process>();
        var keys = new Dictionary<string, (string PrivateFile, string Public)>();
        foreach (string ns in new[] { a.Ns, b.Ns })
        {
            string priv = BenchShell.Run("wg", "genkey").Trim();
            string privFile = Path.Combine(dir, ns + ".wg.priv");
            File.WriteAllText(privFile, priv + "\n");
            File.SetUnixFileMode(privFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            var psi = new ProcessStartInfo("wg", "pubkey") { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
            using var p = Process.Start(psi)!;
            p.StandardInput.WriteLine(priv);
            p.StandardInput.Close();
            keys[ns] = (privFile, p.StandardOutput.ReadToEnd().Trim());
            p.WaitForExit();
            // One name per namespace: wireguard-go's control socket (/var/run/wireguard/NAME.sock) is not namespaced.
            processes.Add(BenchShell.Start(new Dictionary<string, string> { ["WG_PROCESS_FOREGROUND"] = "1" }, "ip", "netns", "exec", ns, "wireguard-go", "-f", InterfaceName(ns)));
        }

        Thread.Sleep(800);
        foreach (var (self, peer) in new[] { (a, b), (b, a) })
        {
            BenchShell.Run("ip", "netns", "exec", self.Ns, "wg", "set", InterfaceName(self.Ns), "private-key", keys[self.Ns].PrivateFile,
                "listen-port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "peer", keys[peer.Ns].Public, "allowed-ips", Subnet(peer.Overlay), "endpoint", $"{peer.Underlay}:{Port}");
            BenchShell.Run("ip", "-n", self.Ns, "addr", "add", self.Overlay + "/24", "dev", InterfaceName(self.Ns));
            BenchShell.Run("ip", "-n", self.Ns, "link", "set", InterfaceName(self.Ns), "up");
        }

        return processes;
    }

    public static string InterfaceName(string ns) => "wg" + ns[^8..].Replace("-", "", StringComparison.Ordinal);

    private static string Subnet(string address) => address[..(address.LastIndexOf('.') + 1)] + "0/24";
}
