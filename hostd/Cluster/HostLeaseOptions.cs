namespace OverlayKvm.HostDaemon.Cluster;

/// <summary>Configuration section "Cluster": how a host announces that it is alive (etcd store only).</summary>
public sealed class HostLeaseOptions
{
    public const string SectionName = "Cluster";

    /// <summary>
    /// Seconds a host stays alive without a keep-alive (<c>--lease-ttl</c>). Default 10: peers stop sending to a
    /// host whose overlayd died within about this long; a restart inside it is not noticed at all.
    /// </summary>
    public int LeaseTtlSeconds { get; set; } = 10;

    /// <summary>How often the other hosts' leases are read (milliseconds). Default 500.</summary>
    public int LivenessPollMilliseconds { get; set; } = 500;
}
