namespace OverlayKvm.HostDaemon.Policy;

/// <summary>
/// Policy defaults (configuration section "Policy", seed 004 R4.3): what applies when no policy matches.
/// Written into every configuration document so agents apply the same defaults as the daemon.
/// </summary>
public sealed class PolicyOptions
{
    public const string Section = "Policy";

    /// <summary>Traffic between two different groups with no matching policy: "deny" (default) or "allow".</summary>
    public string DefaultBetweenGroups { get; set; } = "deny";

    /// <summary>Traffic inside one group with no matching policy: "allow" (default; the members trust each other) or "deny".</summary>
    public string DefaultWithinGroup { get; set; } = "allow";
}
