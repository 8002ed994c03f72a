namespace OverlayKvm.HostDaemon.Channel;

/// <summary>How overlayd checks who listens on a domain's channel socket before it sends that domain anything.</summary>
public enum ChannelPeerCheckMode
{
    /// <summary>
    /// The listener must be the domain's own QEMU as libvirt records it (its pid file, or libvirt's status record
    /// binding this socket path), or root. The default.
    /// </summary>
    Strict,

    /// <summary>No check: for test launchers and demos whose agents listen on the socket as an ordinary user.</summary>
    None,
}
