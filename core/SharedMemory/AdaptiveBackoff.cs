namespace OverlayKvm.Core.SharedMemory;

/// <summary>
/// Polling back-off for ring readers and blocked writers: spin (sub-microsecond latency while busy), then yield,
/// then sleep with a growing interval up to <see cref="MaxSleepMilliseconds"/> (an idle poller costs ~0 CPU).
/// A value type so a poll loop keeps it in a local: no allocation.
/// </summary>
public struct AdaptiveBackoff
{
    private const int SpinRounds = 64;
    private const int YieldRounds = 64;
    public const int MaxSleepMilliseconds = 4;

    private int _idleRounds;

    /// <summary>Call after a round that found no work.</summary>
    public void Idle()
    {
        int round = _idleRounds++;
        if (round < SpinRounds)
        {
            Thread.SpinWait(8 << Math.Min(round / 8, 5));
        }
        else if (round < SpinRounds + YieldRounds)
        {
            Thread.Yield();
        }
        else
        {
            Thread.Sleep(Math.Min(1 + (round - SpinRounds - YieldRounds) / 64, MaxSleepMilliseconds));
        }
    }

    /// <summary>
    /// Like <see cref="Idle"/> but never sleeps: spins or yields and returns true, or returns false once the poller
    /// has been idle long enough that it should block on its doorbell (<see cref="EngineDoorbell"/>) instead.
    /// </summary>
    public bool TrySpinOrYield()
    {
        int round = _idleRounds;
        if (round >= SpinRounds + YieldRounds)
        {
            return false;
        }

        _idleRounds++;
        if (round < SpinRounds)
        {
            Thread.SpinWait(8 << Math.Min(round / 8, 5));
        }
        else
        {
            Thread.Yield();
        }

        return true;
    }

    /// <summary>Call after a round that did work: the next idle round spins again.</summary>
    public void Reset() => _idleRounds = 0;
}
