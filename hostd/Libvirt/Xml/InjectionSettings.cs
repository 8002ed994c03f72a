namespace OverlayKvm.HostDaemon.Libvirt;

/// <summary>What the injector needs from the host: where agent sockets live, the region size, and whether vsock works here.</summary>
/// <param name="ShmemSizeMiB">Size of each group's ivshmem region (QEMU requires a power of two).</param>
/// <param name="VsockAvailable">True only when /dev/vhost-vsock exists: a domain with &lt;vsock&gt; does not start otherwise.</param>
public sealed record InjectionSettings(string AgentSocketDirectory, int ShmemSizeMiB, bool VsockAvailable);
