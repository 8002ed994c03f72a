namespace OverlayKvm.GuestAgent.Channel;

/// <summary>
/// Where the host channel's byte stream comes from. In a VM: the virtio-serial port. In tests: a unix socket
/// the agent listens on (mirroring libvirt, where QEMU binds and overlayd connects).
/// </summary>
internal interface IHostChannelTransport
{
    /// <summary>Waits for the host side and returns the stream to speak on; the caller disposes it.</summary>
    Task<Stream> ConnectAsync(CancellationToken cancellationToken);

    string Describe();
}
