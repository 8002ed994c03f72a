namespace OverlayKvm.Core.Crypto;

/// <summary>
/// The 64-bit send counter of one sender. It starts at the current Unix time in nanoseconds, not at zero: the
/// group key outlives an agent process, so a restarted agent must never reuse a (key, nonce) pair it used before
/// it died, and no sender emits more than one frame per nanosecond. Starting high also lets receivers keep
/// their replay windows across a sender restart (the new counters are above the old ones).
/// </summary>
internal sealed class FrameCounter
{
    private long _next;

    public FrameCounter(TimeProvider time)
    {
        _next = checked((time.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks * 100);
    }

    internal FrameCounter(ulong start)
    {
        _next = (long)start;
    }

    /// <summary>Returns a counter value never returned before by this instance.</summary>
    public ulong Next() => (ulong)Interlocked.Increment(ref _next);
}
