namespace OverlayKvm.Core.SharedMemory;

/// <summary>
/// Polling back-off for ring readers and blocked writers: spin (sub-microsecond latency while busy), then yield,
/// then sleep with a growing interval up to <see cref="MaxSleepMilliseconds"/> (an idle poller costs ~0 CPU).
/// A value type so a poll loop keeps it in a local: no allocation. <c>default</c> uses the default phases.
/// </summary>
public struct AdaptiveBackoff
{
    private const int SpinRounds = 64;
    private const int YieldRounds = 64;
    public const int MaxSleepMilliseconds = 4;

    // Stored plus one so that default(AdaptiveBackoff) means "the default phases".
    private readonly int _spinRoundsPlusOne;
    private readonly int _yieldRoundsPlusOne;
    private int _idleRounds;

    /// <summary>Custom phases: <paramref name="spinRounds"/> spinning rounds, then <paramref name="yieldRounds"/> yields.</summary>
    public AdaptiveBackoff(int spinRounds, int yieldRounds)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(spinRounds);
        ArgumentOutOfRangeException.ThrowIfNegative(yieldRounds);
        _spinRoundsPlusOne = spinRounds + 1;
        _yieldRoundsPlusOne = yieldRounds + 1;
        _idleRounds = 0;
    }

    private readonly int Spins => _spinRoundsPlusOne == 0 ? SpinRounds : _spinRoundsPlusOne - 1;

    private readonly int Yields => _yieldRoundsPlusOne == 0 ? YieldRounds : _yieldRoundsPlusOne - 1;

    /// <summary>Call after a round that found no work.</summary>
    public void Idle()
    {
        if (!TrySpinOrYield())
        {
            int round = _idleRounds++;
            Thread.Sleep(Math.Min(1 + (round - Spins - Yields) / 64, MaxSleepMilliseconds));
        }
    }

    /// <summary>
    /// Like <see cref="Idle"/> but never sleeps: spins or yields and returns true, or returns false once the poller
    /// has been idle long enough that it should block on its doorbell (<see cref="EngineDoorbell"/>) instead.
    /// </summary>
    public bool TrySpinOrYield()
    {
        int round = _idleRounds;
        if (round >= Spins + Yields)
        {
            return false;
        }

        _idleRounds++;
        if (round < Spins)
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
