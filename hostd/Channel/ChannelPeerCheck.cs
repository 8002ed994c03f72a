using System.Globalization;
using System.Net.Sockets;

namespace OverlayKvm.HostDaemon.Channel;

/// <summary>
/// Decides whether the process listening on a domain's channel socket may receive that domain's document (its
/// group keys) — issue 14 item 1. The socket path alone names the domain, and anyone who can put a socket there
/// would otherwise be served. The kernel tells overlayd, the connecting side, who called listen() (SO_PEERCRED):
/// <list type="bullet">
/// <item>libvirt (9.x) creates, binds and listens on a <c>mode='bind'</c> channel socket itself and passes the
/// descriptor to QEMU, so for a domain libvirt started the listener is libvirtd: root. Root is accepted — it can
/// read every key on this host anyway; what root does not vouch for is which domain the socket belongs to, and the
/// hook's <c>prepare</c> check (a domain's XML may name only its own channel path) covers that.</item>
/// <item>A QEMU that binds the socket itself (no descriptor passing) runs as libvirt's unprivileged user, shared
/// by all domains: it is accepted only when its pid is the one libvirt recorded for this domain
/// (<c>{QemuPidDirectory}/{domain}.pid</c>, written by libvirtd, root-only).</item>
/// <item>Anyone else — another domain's QEMU, any unprivileged process that got a socket into the directory — is
/// refused before overlayd writes a byte.</item>
/// </list>
/// </summary>
internal sealed class ChannelPeerCheck(ChannelPeerCheckMode mode, string qemuPidDirectory)
{
    /// <summary>Where libvirt's QEMU driver keeps one <c>DOMAIN.pid</c> file per running domain.</summary>
    public const string DefaultQemuPidDirectory = "/run/libvirt/qemu";

    public ChannelPeerCheckMode Mode => mode;

    /// <summary>Why the listener of <paramref name="connected"/> may not serve <paramref name="domain"/>; null when it may.</summary>
    public string? Refusal(Socket connected, string domain, out PeerCredentials peer)
    {
        peer = default;
        if (mode == ChannelPeerCheckMode.None)
        {
            return null;
        }
        peer = PeerCredentials.Of(connected);
        if (peer.Uid == 0)
        {
            return null;
        }
        string pidFile = Path.Combine(qemuPidDirectory, domain + ".pid");
        int? qemu = ReadPid(pidFile);
        if (qemu is { } pid && pid > 0 && pid == peer.Pid)
        {
            return null;
        }
        string expected = qemu is { } p ? $"QEMU pid {p} from {pidFile}" : $"no QEMU pid in {pidFile}";
        return $"the channel socket is served by {peer}, which is neither root (libvirtd) nor this domain's QEMU ({expected})";
    }

    private static int? ReadPid(string path)
    {
        try
        {
            string text = File.ReadAllText(path).Trim();
            return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int pid) ? pid : null;
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException)
        {
            // The domain is not running under this libvirt (or we may not read its state): nothing vouches for the peer.
            return null;
        }
    }
}
