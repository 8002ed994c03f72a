namespace OverlayKvm.HostDaemon.Channel;

/// <summary>How overlayd checks who listens on a domain's channel socket before it sends that domain anything.</summary>
public enum ChannelPeerCheckMode
{
    /// <summary>
    /// The listener must be root (libvirtd, which creates the socket and passes it to QEMU) or the domain's own
    /// QEMU process (the pid libvirt recorded for the domain). The default.
    /// </summary>
    Strict,

    /// <summary>No check: for test launchers and demos whose agents listen on the socket as an ordinary user.</summary>
    None,
}
