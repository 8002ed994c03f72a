namespace OverlayKvm.HostDaemon.Rebalance;

/// <summary>
/// The migrations this overlayd's <c>rebalance --apply</c> performed in the last hour, for the hourly bound
/// (Rebalance:MaxMovesPerHour). In memory: a restart forgets them, which at worst allows one more hour's moves.
/// </summary>
internal sealed class RebalanceLedger(TimeProvider time)
{
    private readonly List<DateTimeOffset> _moves = [];
    private readonly Lock _lock = new();

    public int MovesLeft(int maxPerHour)
    {
        lock (_lock)
        {
            DateTimeOffset since = time.GetUtcNow() - TimeSpan.FromHours(1);
            _moves.RemoveAll(at => at <= since);
            return Math.Max(0, maxPerHour - _moves.Count);
        }
    }

    public void Record()
    {
        lock (_lock)
        {
            _moves.Add(time.GetUtcNow());
        }
    }
}
