namespace OverlayKvm.HostDaemon.Libvirt;

/// <summary>Configuration section "Libvirt".</summary>
public sealed class LibvirtOptions
{
    public const string SectionName = "Libvirt";

    /// <summary>Driver URI overlayd connects to. Default "qemu:///system".</summary>
    public string Uri { get; set; } = "qemu:///system";

    /// <summary>Whether the event service runs (connects, listens, equips domains). Default true.</summary>
    public bool EventServiceEnabled { get; set; } = true;

    /// <summary>Directory of the per-domain agent sockets (DOMAIN.agent.sock). Default "/run/overlaykvm".</summary>
    public string AgentSocketDirectory { get; set; } = "/run/overlaykvm";

    /// <summary>Size of each group's ivshmem region in MiB, a power of two (QEMU's rule). Default 4.</summary>
    public int ShmemSizeMiB { get; set; } = 4;

    /// <summary>
    /// nwfilter put on every interface of our domains so a VM sends only from its own MAC/IP (seed 003 R3.18).
    /// Default "clean-traffic" (shipped with libvirt); empty disables it.
    /// </summary>
    public string AntiSpoofFilter { get; set; } = "clean-traffic";

    /// <summary>Device whose presence enables vsock injection. Default "/dev/vhost-vsock".</summary>
    public string VsockDevicePath { get; set; } = "/dev/vhost-vsock";

    /// <summary>Keepalive interval in seconds (a dead daemon is noticed after interval × (count + 1)). Default 2.</summary>
    public int KeepAliveIntervalSeconds { get; set; } = 2;

    /// <summary>Unanswered keepalives before the connection is declared dead. Default 2.</summary>
    public int KeepAliveCount { get; set; } = 2;

    /// <summary>First reconnect delay; doubles up to <see cref="ReconnectMaxDelay"/>. Default 200 ms.</summary>
    public TimeSpan ReconnectInitialDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// Whether undefining a member domain in libvirt also removes its apps from the store (issue 15). Default false:
    /// they stay, unreachable, so that defining the domain again brings them back with their addresses.
    /// </summary>
    public bool RemoveAppsOnUndefine { get; set; }

    /// <summary>
    /// How often overlayd asks libvirt for the addresses of this host's running domains that have no operator-given
    /// address (issue 11: DHCP lease, then ARP). A started domain gets its address within about one interval of its
    /// lease. Default 5 s; zero switches address learning off.
    /// </summary>
    public TimeSpan AddressRefreshInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// libvirt URI of each other host's daemon, by inventory host name, for <c>overlayctl domain-migrate</c>
    /// (e.g. <c>Libvirt:PeerUris:hostB=qemu+tls://hostb/system</c>). A host not listed: <c>qemu+ssh://ADDRESS/system</c>
    /// with the address the inventory holds for it.
    /// </summary>
    public Dictionary<string, string> PeerUris { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Address of the migration stream by destination host name (virsh's <c>--migrateuri</c>, e.g. <c>tcp:10.0.0.2</c>).
    /// A host not listed: libvirt's choice (the destination's hostname).
    /// </summary>
    public Dictionary<string, string> MigrationUris { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Whether a domain that arrives by live migration gets this host's engine regions hot-plugged (and its agent told
    /// to join). Default true. False keeps it on the sealed path until its next start: for guests whose kernel does
    /// not answer the ACPI eject, which could not be migrated again once a region is plugged in (libvirt refuses to
    /// migrate an ivshmem device, and the unplug never completes).
    /// </summary>
    public bool PlugRegionsOnArrival { get; set; } = true;

    /// <summary>How long domain-migrate waits for the agent to confirm it unmapped the regions. Default 15 s (the agent waits out a 5 s grace).</summary>
    public TimeSpan EngineLeaveTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How long domain-migrate waits for the guest to release an unplugged region (ACPI eject). Default 10 s.</summary>
    public TimeSpan RegionUnplugTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Longest delay between reconnect attempts. Default 5 s.</summary>
    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromSeconds(5);
}
