namespace OverlayKvm.HostDaemon.DirectoryService;

/// <summary>The directory's transformation settings (configuration section "Directory", seed 002 R2, R12).</summary>
public sealed class DirectoryOptions
{
    public const string Section = "Directory";

    /// <summary>
    /// Underlay ranges (CIDR) the operator trusts, e.g. a private storage VLAN. Traffic between VMs on
    /// different hosts whose addresses lie in one of them is encapsulated without sealing. Default: none, so
    /// every cross-host path is sealed with the group's credentials.
    /// </summary>
    public List<string> TrustedSegments { get; set; } = [];

    /// <summary>
    /// True: frames on a trusted segment carry an integrity tag (actions encapsulate, authenticate; the packet stays
    /// readable); false (default): encapsulated in clear, no tag (seed 002 R12's lightweight path).
    /// </summary>
    public bool TrustedSegmentIntegrity { get; set; }

}
