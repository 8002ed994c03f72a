namespace OverlayKvm.HostDaemon.Hosting;

/// <summary>
/// overlayd's own settings, bound from the "Overlayd" configuration section: command line
/// (<c>--socket</c>, <c>--state-dir</c>, <c>--host-name</c>, <c>--host-address</c>), environment
/// (<c>OVERLAYKVM_OVERLAYD__SOCKET</c> …) or appsettings. Several instances run side by side when each has its
/// own socket and state directory (the tests do).
/// </summary>
public sealed class DaemonOptions
{
    public const string Section = "Overlayd";

    /// <summary>Admin API socket. Default <c>/run/overlaykvm/overlayd.sock</c>.</summary>
    public string Socket { get; set; } = "/run/overlaykvm/overlayd.sock";

    /// <summary>Socket permission bits, octal. 0660: root and the socket's group (operators) may administer.</summary>
    public string SocketMode { get; set; } = "0660";

    /// <summary>Persistent state (the SQLite store). Default <c>/var/lib/overlaykvm</c>, created 0700.</summary>
    public string StateDir { get; set; } = "/var/lib/overlaykvm";

    /// <summary>
    /// Where the per-domain agent channel sockets live (<c>DOMAIN.agent.sock</c>): libvirt binds them for the
    /// virtio-serial port and overlayd connects. Default <c>/run/overlaykvm</c>.
    /// </summary>
    public string ChannelDir { get; set; } = "/run/overlaykvm";

    /// <summary>
    /// Who may listen on a domain's channel socket and receive its document (docs/host-channel.md): <c>Strict</c>
    /// (default) serves only the domain's own QEMU (as libvirt records it) or root; <c>None</c> serves whoever listens, for test
    /// launchers and demos whose agents bind the socket themselves.
    /// </summary>
    public Channel.ChannelPeerCheckMode ChannelPeerCheck { get; set; } = Channel.ChannelPeerCheckMode.Strict;

    /// <summary>Where libvirt records each running domain's QEMU pid (<c>DOMAIN.pid</c>). Default <c>/run/libvirt/qemu</c>.</summary>
    public string QemuPidDir { get; set; } = Channel.ChannelPeerCheck.DefaultQemuPidDirectory;

    /// <summary>This host's name in the inventory. Default: the machine name.</summary>
    public string? HostName { get; set; }

    /// <summary>This host's underlay address. Default: the first IPv4 address the machine name resolves to, else 127.0.0.1.</summary>
    public string? HostAddress { get; set; }

    /// <summary>How many overlay domains this host accepts (placement, R0.16).</summary>
    public int HostCapacity { get; set; } = 16;

    /// <summary>Largest accepted API request body. The admin socket is never on the fast path; keep it small.</summary>
    public long MaxRequestBytes { get; set; } = 1 << 20;

    /// <summary>
    /// Opt-in Prometheus endpoint (GET /metrics): an absolute unix socket path or ADDRESS:PORT; unset (default): none.
    /// Serves overlayd's own counters and every connected agent's (docs/metrics.md).
    /// </summary>
    public string? MetricsListen { get; set; }

    /// <summary>Grace period of the previous key epoch after a rotation.</summary>
    public int CredentialGraceSeconds { get; set; } = 300;
}
