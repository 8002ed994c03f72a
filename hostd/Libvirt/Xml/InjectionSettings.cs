namespace OverlayKvm.HostDaemon.Libvirt;

/// <summary>What the injector needs from the host: where agent sockets live, the region size, and whether vsock works here.</summary>
/// <param name="ShmemSizeMiB">Size of each group's ivshmem region (QEMU requires a power of two).</param>
/// <param name="VsockAvailable">True only when /dev/vhost-vsock exists: a domain with &lt;vsock&gt; does not start otherwise.</param>
public sealed record InjectionSettings(string AgentSocketDirectory, int ShmemSizeMiB, bool VsockAvailable)
{
    /// <summary>
    /// The libvirt nwfilter put on each of the domain's interfaces so the VM sends only from its own addresses
    /// (seed 003 R3.18): receivers check a frame's outer source against the directory, which only means something
    /// if a VM cannot forge its outer source. Null or empty: no filter.
    /// </summary>
    public string? AntiSpoofFilter { get; init; }

    /// <summary>The domain's underlay address as the store knows it (the filter's IP parameter); null: libvirt learns it.</summary>
    public string? DomainAddress { get; init; }
}
