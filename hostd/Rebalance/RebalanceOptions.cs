namespace OverlayKvm.HostDaemon.Rebalance;

/// <summary>Configuration section "Rebalance" (issue 15, automatic co-location).</summary>
public sealed class RebalanceOptions
{
    public const string SectionName = "Rebalance";

    /// <summary>How often overlayd asks its agents for their per-peer counters. Default 10 s.</summary>
    public int SampleIntervalSeconds { get; set; } = 10;

    /// <summary>The span of samples rates are computed over (older samples are dropped). Default 300 s.</summary>
    public int WindowSeconds { get; set; } = 300;

    /// <summary>At most this many migrations by <c>rebalance --apply</c> in any hour (this overlayd's count). Default 2.</summary>
    public int MaxMovesPerHour { get; set; } = 2;

    /// <summary>A move is proposed only when it takes at least this many bytes per second off the network. Default 1024.</summary>
    public double MinBytesPerSecond { get; set; } = 1024;

    /// <summary>How long the apply waits for the store to place a migrated domain on its destination. Default 60 s.</summary>
    public int PlacementWaitSeconds { get; set; } = 60;
}
