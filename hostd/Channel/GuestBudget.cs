using System.Threading.RateLimiting;

namespace OverlayKvm.HostDaemon.Channel;

/// <summary>
/// Per-domain budgets for what a guest can make overlayd do (issue 14 item 8): engine requests (each takes the
/// registry lock and writes an answer) and warnings in overlayd's log. A token bucket each; past the budget a
/// request is answered "Throttled" without touching the registry and a warning is counted instead of written.
/// </summary>
internal sealed class GuestBudget : IDisposable
{
    /// <summary>Engine requests: a burst of 64, then 200 a second. An agent makes a few per app start and per destination.</summary>
    public static readonly TokenBucketRateLimiterOptions DefaultHypercalls = new()
    {
        TokenLimit = 64,
        TokensPerPeriod = 20,
        ReplenishmentPeriod = TimeSpan.FromMilliseconds(100),
        QueueLimit = 0,
        AutoReplenishment = true,
    };

    /// <summary>Log lines caused by the guest: 10, then one every 6 s.</summary>
    public static readonly TokenBucketRateLimiterOptions DefaultWarnings = new()
    {
        TokenLimit = 10,
        TokensPerPeriod = 1,
        ReplenishmentPeriod = TimeSpan.FromSeconds(6),
        QueueLimit = 0,
        AutoReplenishment = true,
    };

    private readonly TokenBucketRateLimiter _hypercalls;
    private readonly TokenBucketRateLimiter _warnings;
    private long _throttled;
    private long _suppressed;
    private long _suppressedTotal;

    public GuestBudget(TokenBucketRateLimiterOptions? hypercalls = null, TokenBucketRateLimiterOptions? warnings = null)
    {
        _hypercalls = new TokenBucketRateLimiter(hypercalls ?? DefaultHypercalls);
        _warnings = new TokenBucketRateLimiter(warnings ?? DefaultWarnings);
    }

    /// <summary>Engine requests answered "Throttled".</summary>
    public long Throttled => Interlocked.Read(ref _throttled);

    /// <summary>Guest-caused warnings not written to the log.</summary>
    public long SuppressedWarnings => Interlocked.Read(ref _suppressedTotal);

    public bool TryHypercall()
    {
        using RateLimitLease lease = _hypercalls.AttemptAcquire();
        if (!lease.IsAcquired)
        {
            Interlocked.Increment(ref _throttled);
        }
        return lease.IsAcquired;
    }

    /// <summary>True when a guest-caused warning may be logged; <paramref name="suppressedBefore"/> says how many were dropped since the last one.</summary>
    public bool TryWarn(out long suppressedBefore)
    {
        using RateLimitLease lease = _warnings.AttemptAcquire();
        if (!lease.IsAcquired)
        {
            Interlocked.Increment(ref _suppressed);
            Interlocked.Increment(ref _suppressedTotal);
            suppressedBefore = 0;
            return false;
        }
        suppressedBefore = Interlocked.Exchange(ref _suppressed, 0);
        return true;
    }

    public void Dispose()
    {
        _hypercalls.Dispose();
        _warnings.Dispose();
    }
}
