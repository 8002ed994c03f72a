namespace OverlayKvm.HostDaemon.Rebalance;

/// <summary>
/// How hosts share what their agents counted. A cross-host pair (a on host A, b on host B) is counted by both
/// agents; any domain pair the planner weighs needs the summary of at least one of the two hosts.
/// </summary>
internal interface ITrafficSummaryExchange
{
    Task PublishAsync(HostTrafficSummary summary, CancellationToken cancellationToken);

    /// <summary>The newest summary of every host (this one's included); unreadable ones are left out and named in <c>Notes</c>.</summary>
    Task<(IReadOnlyList<HostTrafficSummary> Summaries, IReadOnlyList<string> Notes)> ReadAllAsync(CancellationToken cancellationToken);
}
