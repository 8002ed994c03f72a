namespace OverlayKvm.HostDaemon.Rebalance;

/// <summary>One host (SQLite store): its own summary is all there is.</summary>
internal sealed class LocalTrafficSummaryExchange : ITrafficSummaryExchange
{
    private volatile HostTrafficSummary? _last;

    public Task PublishAsync(HostTrafficSummary summary, CancellationToken cancellationToken)
    {
        _last = summary;
        return Task.CompletedTask;
    }

    public Task<(IReadOnlyList<HostTrafficSummary> Summaries, IReadOnlyList<string> Notes)> ReadAllAsync(CancellationToken cancellationToken) =>
        Task.FromResult<(IReadOnlyList<HostTrafficSummary>, IReadOnlyList<string>)>((_last is { } s ? [s] : [], []));
}
