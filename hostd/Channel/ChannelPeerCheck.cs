using System.Globalization;
using System.Net.Sockets;
using System.Xml;
using System.Xml.Linq;

namespace OverlayKvm.HostDaemon.Channel;

/// <summary>
/// Decides whether the process listening on a domain's channel socket may receive that domain's document (its
/// group keys) — issue 14 item 1. The socket path alone names the domain, and anyone who can put a socket there
/// would otherwise be served. The kernel tells overlayd, the connecting side, who last called listen() on the socket
/// it reached (SO_PEERCRED; listen() re-stamps it, so it is QEMU even when libvirt created the socket and passed it):
/// <list type="bullet">
/// <item>the domain's own QEMU: the pid libvirt recorded for it (<c>{QemuPidDirectory}/{domain}.pid</c>, written by
/// libvirtd, root-only). Seen with libvirt 9 / QEMU 7.2: the listener is QEMU, uid libvirt-qemu.</item>
/// <item>a QEMU libvirt started under another name (a test fixture names its libvirt domains apart from the overlay's):
/// its pid is in some <c>NAME.pid</c> and libvirt's status record of NAME (<c>NAME.xml</c>, root-only) binds a channel
/// to exactly this socket path — which only the domain's own definition may name (the hook's <c>prepare</c> check).</item>
/// <item>a pid counts only if its process started before its pid file was written (else the pid was reused).</item>
/// <item>root: it can read every key on this host anyway (a libvirtd that listens itself, an agent a test runs).</item>
/// </list>
/// Anyone else — another domain's QEMU, any unprivileged process that got a socket into the directory — is refused
/// before overlayd writes a byte.
/// </summary>
internal sealed class ChannelPeerCheck(ChannelPeerCheckMode mode, string qemuPidDirectory)
{
    /// <summary>Where libvirt's QEMU driver keeps one <c>DOMAIN.pid</c> file per running domain.</summary>
    public const string DefaultQemuPidDirectory = "/run/libvirt/qemu";

    /// <summary>How much later than its pid file a process may seem to have started (procfs' boot time is in whole seconds).</summary>
    public static readonly TimeSpan PidStartSlack = TimeSpan.FromSeconds(2);

    public ChannelPeerCheckMode Mode => mode;

    /// <summary>Why the listener of <paramref name="connected"/> may not serve <paramref name="domain"/>; null when it may.</summary>
    public string? Refusal(Socket connected, string domain, string socketPath, out PeerCredentials peer)
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
        if (peer.Pid > 0 && qemu == peer.Pid)
        {
            return null;
        }
        if (peer.Pid > 0 && LibvirtNameOf(peer.Pid) is { } name && StatusBindsChannel(name, socketPath))
        {
            return null;
        }
        string expected = qemu is { } p ? $"QEMU pid {p} from {pidFile}" : $"no QEMU pid in {pidFile}";
        return $"the channel socket is served by {peer}, which is neither root nor this domain's QEMU ({expected}; " +
               $"no domain libvirt started with that pid binds {socketPath})";
    }

    /// <summary>The libvirt domain whose pid file holds <paramref name="pid"/>, if any.</summary>
    private string? LibvirtNameOf(int pid)
    {
        if (!Directory.Exists(qemuPidDirectory))
        {
            return null;
        }
        foreach (string file in Directory.EnumerateFiles(qemuPidDirectory, "*.pid"))
        {
            if (ReadPid(file) == pid)
            {
                return Path.GetFileNameWithoutExtension(file);
            }
        }
        return null;
    }

    /// <summary>Whether libvirt's status record of a running domain has a channel bound to <paramref name="socketPath"/>.</summary>
    private bool StatusBindsChannel(string libvirtName, string socketPath)
    {
        string status = Path.Combine(qemuPidDirectory, libvirtName + ".xml");
        try
        {
            var settings = new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null };
            using XmlReader reader = XmlReader.Create(status, settings);
            XDocument document = XDocument.Load(reader);
            foreach (XElement channel in document.Descendants("channel"))
            {
                foreach (XElement source in channel.Elements("source"))
                {
                    if (string.Equals((string?)source.Attribute("path"), socketPath, StringComparison.Ordinal))
                    {
                        return true;
                    }
                }
            }
            return false;
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException or XmlException)
        {
            // No readable record of that domain: nothing vouches for the listener.
            return false;
        }
    }

    /// <summary>
    /// The pid in a pid file, if the process with that pid is the one the file was written for: a process that
    /// started after the file was last written only reused the pid (the QEMU died and left the file behind), so it
    /// vouches for nothing. The slack covers procfs' boot time, which is in whole seconds.
    /// </summary>
    private static int? ReadPid(string path)
    {
        try
        {
            string text = File.ReadAllText(path).Trim();
            if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
            {
                return null;
            }

            DateTimeOffset written = File.GetLastWriteTimeUtc(path);
            return ProcessStartTime.Of(pid) is { } started && started <= written + PidStartSlack ? pid : null;
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException)
        {
            // The domain is not running under this libvirt (or we may not read its state): nothing vouches for the peer.
            return null;
        }
    }
}
