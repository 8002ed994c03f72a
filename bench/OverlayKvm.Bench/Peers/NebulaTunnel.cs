using System.Diagnostics;
using System.Globalization;
using System.Text;
using OverlayKvm.Bench.Datapath;

namespace OverlayKvm.Bench.Peers;

/// <summary>
/// The Nebula baseline (Debian `nebula` 1.6.1) between two namespaces that share an underlay, configured like the
/// wireguard-go one: a fresh CA and one host certificate per side made with <c>nebula-cert</c>, no lighthouse (each
/// side knows the other from a static host map), UDP port 4242 on the underlay address, TUN MTU 1420 (wireguard-go's
/// and the sealed path's class: an underlay of 1500 less the tunnel's headers), Nebula's default cipher (AES-256-GCM)
/// and its default routines, batch and buffers; the firewall lets everything through (the bench measures the
/// tunnel, not the rules). One `nebula` process per namespace, in the foreground, ours to stop by PID.
/// </summary>
internal static class NebulaTunnel
{
    public const int Port = 4242;
    private const int Mtu = 1420;

    /// <summary>
    /// Makes the CA, certificates and configurations in <paramref name="dir"/> (created 0700, every file 0600; the
    /// caller deletes the folder) and starts both nodes. Returns the two nebula processes (caller stops them).
    /// </summary>
    public static IReadOnlyList<Process> SetUp((string Ns, string Underlay, string Overlay) a, (string Ns, string Underlay, string Overlay) b, string dir)
    {
        foreach (string tool in new[] { "nebula", "nebula-cert" })
        {
            if (!File.Exists("/usr/bin/" + tool))
            {
                throw new InvalidOperationException($"prerequisite missing: /usr/bin/{tool} (bench/run.sh installs the Debian package nebula)");
            }
        }

        Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        string caCrt = Path.Combine(dir, "ca.crt"), caKey = Path.Combine(dir, "ca.key");
        BenchShell.Run("nebula-cert", "ca", "-name", "overlaykvm-bench", "-duration", "24h", "-out-crt", caCrt, "-out-key", caKey);
        var processes = new List<Process>();
        foreach (var (self, peer) in new[] { (a, b), (b, a) })
        {
            string crt = Path.Combine(dir, self.Ns + ".crt"), key = Path.Combine(dir, self.Ns + ".key");
            BenchShell.Run("nebula-cert", "sign", "-ca-crt", caCrt, "-ca-key", caKey, "-name", self.Ns, "-ip", self.Overlay + "/24",
                "-out-crt", crt, "-out-key", key);
            string config = Path.Combine(dir, self.Ns + ".yml");
            File.WriteAllText(config, Config(caCrt, crt, key, self.Underlay, peer.Overlay, peer.Underlay, InterfaceName(self.Ns)));
            foreach (string file in Directory.EnumerateFiles(dir))
            {
                File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            processes.Add(BenchShell.Start(null, "ip", "netns", "exec", self.Ns, "nebula", "-config", config));
        }

        return processes;
    }

    /// <summary>The TUN device's name (per namespace, so no clash with a run beside this one).</summary>
    public static string InterfaceName(string ns) => "neb" + ns[^8..].Replace("-", "", StringComparison.Ordinal);

    private static string Config(string ca, string crt, string key, string listen, string peerOverlay, string peerUnderlay, string device)
    {
        var yaml = new StringBuilder();
        yaml.AppendLine(CultureInfo.InvariantCulture, $"pki:\n  ca: {ca}\n  cert: {crt}\n  key: {key}");
        yaml.AppendLine(CultureInfo.InvariantCulture, $"static_host_map:\n  \"{peerOverlay}\": [\"{peerUnderlay}:{Port}\"]");
        // No lighthouse: the static host map is the whole directory; nothing leaves the two namespaces.
        yaml.AppendLine("lighthouse:\n  am_lighthouse: false\n  hosts: []");
        yaml.AppendLine(CultureInfo.InvariantCulture, $"listen:\n  host: {listen}\n  port: {Port}");
        yaml.AppendLine("punchy:\n  punch: false");
        yaml.AppendLine(CultureInfo.InvariantCulture, $"tun:\n  dev: {device}\n  mtu: {Mtu}");
        yaml.AppendLine("logging:\n  level: warning");
        yaml.AppendLine("firewall:\n  outbound:\n    - port: any\n      proto: any\n      host: any\n  inbound:\n    - port: any\n      proto: any\n      host: any");
        return yaml.ToString();
    }
}
