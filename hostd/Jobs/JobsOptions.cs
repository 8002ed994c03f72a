namespace OverlayKvm.HostDaemon.Jobs;

/// <summary>overlayd's scheduled jobs (configuration section "Jobs"), run by Quartz.</summary>
public sealed class JobsOptions
{
    public const string Section = "Jobs";

    public CredentialRotationOptions CredentialRotation { get; set; } = new();

    public DirectoryReconciliationOptions DirectoryReconciliation { get; set; } = new();
}

/// <summary>
/// Reconciliation of the directory with libvirt's view of this host's domains (see <see cref="DirectoryReconciler"/>):
/// a safety net for lifecycle events overlayd missed.
/// </summary>
public sealed class DirectoryReconciliationOptions
{
    /// <summary>Default true. False registers no reconciliation job (`overlayctl directory-reconcile` still works).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Default 1 minute: a missed "stopped" event leaves an engine slot behind for at most this long.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromMinutes(1);
}

/// <summary>
/// Scheduled key rotation (R0.4 on a schedule): every <see cref="CheckInterval"/> the job rotates each group
/// whose newest key epoch is older than the group's interval. Rotation only changes overlay configuration;
/// the previous epoch stays valid for <see cref="Grace"/> so frames in flight still open.
/// </summary>
public sealed class CredentialRotationOptions
{
    /// <summary>Default true. False registers no rotation job at all.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Interval for groups not listed in <see cref="Groups"/>. Default 1 day; 0 = only listed groups rotate.</summary>
    public TimeSpan DefaultInterval { get; set; } = TimeSpan.FromDays(1);

    /// <summary>Per-group intervals by group name (e.g. "Jobs:CredentialRotation:Groups:web": "06:00:00"); 0 = never rotate that group.</summary>
    public Dictionary<string, TimeSpan> Groups { get; set; } = new(StringComparer.Ordinal);

    /// <summary>How often the job looks for due groups. Default 1 minute: the lateness of a rotation is at most this.</summary>
    public TimeSpan CheckInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How long the previous epoch stays valid after a scheduled rotation. Default 5 minutes.</summary>
    public TimeSpan Grace { get; set; } = TimeSpan.FromMinutes(5);
}
