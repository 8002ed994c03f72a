namespace OverlayKvm.HostDaemon.Engine;

/// <summary>Configuration section <c>Engine</c> of overlayd: where and how the per-group engine regions live.</summary>
public sealed class EngineOptions
{
    public const string SectionName = "Engine";

    /// <summary>Directory of the region files. Default <c>/dev/shm</c>, where libvirt's ivshmem-plain looks for <c>&lt;shmem name&gt;</c>.</summary>
    public string Directory { get; set; } = "/dev/shm";

    /// <summary>File name prefix; the file (and the libvirt shmem name) is PREFIX + group. Default <c>overlaykvm-</c>.</summary>
    public string NamePrefix { get; set; } = "overlaykvm-";

    /// <summary>Region size in bytes; a power of two (ivshmem BAR), at least 1 MiB. Default 16 MiB.</summary>
    public long RegionSizeBytes { get; set; } = 16L << 20;

    /// <summary>Slots (co-located VMs of one group) per region, 2..64. Default 8.</summary>
    public int SlotCount { get; set; } = 8;

    /// <summary>A slot whose VM sent no heartbeat for this long is not offered to queries and is then freed. Default 30 s.</summary>
    public TimeSpan HeartbeatExpiry { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often the daemon verifies and repairs regions and expires slots. Default 1 s.</summary>
    public TimeSpan ScrubInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Owner of the region files. QEMU runs as <c>libvirt-qemu</c> and refuses a root-owned file, so that is the
    /// default; empty keeps the daemon's own user (tests, hosts without libvirt).
    /// </summary>
    public string? OwnerUser { get; set; } = "libvirt-qemu";
}
