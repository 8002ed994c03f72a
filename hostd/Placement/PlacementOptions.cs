namespace OverlayKvm.HostDaemon.Placement;

/// <summary>Configuration section "Placement".</summary>
public sealed class PlacementOptions
{
    public const string SectionName = "Placement";

    /// <summary>This host's name in the inventory. Default: the machine's host name.</summary>
    public string HostName { get; set; } = Environment.MachineName;

    /// <summary>
    /// Capacity (overlay domains) this host offers when the store has no record of it yet: the inventory always
    /// contains this host. Default 16.
    /// </summary>
    public int LocalCapacity { get; set; } = 16;

    /// <summary>When true, the qemu hook refuses `prepare` for a domain whose placement is another host. Default false.</summary>
    public bool Strict { get; set; }
}
