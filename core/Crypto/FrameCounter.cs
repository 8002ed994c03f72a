namespace OverlayKvm.Core.Crypto;

/// <summary>
/// The 64-bit send counter of one sender, kept on the sender's clock: each value is the larger of "one more than
/// the last" and the current Unix time in nanoseconds. So a counter says when its frame was sealed (to within the
/// clock's accuracy), which lets a receiver that has no state for a stream — it restarted, or the stream is new —
/// refuse frames recorded long ago (issue 14 item 5: <see cref="SenderStreams"/> bounds their age), and a
/// restarted agent's counters are above those it used before it died. No sender emits more than one frame per
/// nanosecond, so the clock part dominates. Uniqueness of (key, nonce) does not rest on the clock: the key is per
/// stream salt, drawn at random when the agent starts (<see cref="FrameKeySchedule.DeriveStreamKey"/>).
/// </summary>
internal sealed class FrameCounter
{
    private readonly TimeProvider _time;
    private readonly long _startTimestamp;
    private readonly long _startNanoseconds;
    private long _last;

    public FrameCounter(TimeProvider time)
    {
        _time = time;
        _startTimestamp = time.GetTimestamp();
        _startNanoseconds = checked((time.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks * 100);
        _last = _startNanoseconds;
    }

    /// <summary>A counter that only counts (no clock): for tests that need exact values.</summary>
    internal FrameCounter(ulong start)
    {
        _time = null!;
        _last = (long)start;
    }

    /// <summary>Returns a counter value never returned before by this instance. No allocation; one monotonic clock read.</summary>
    public ulong Next()
    {
        if (_time is null)
        {
            return (ulong)Interlocked.Increment(ref _last);
        }
        // Monotonic elapsed time on top of the start's wall clock: a wall clock stepped backwards cannot lower it.
        long now = _startNanoseconds + (long)_time.GetElapsedTime(_startTimestamp).Ticks * 100;
        while (true)
        {
            long last = Volatile.Read(ref _last);
            long next = Math.Max(last + 1, now);
            if (Interlocked.CompareExchange(ref _last, next, last) == last)
            {
                return (ulong)next;
            }
        }
    }
}
