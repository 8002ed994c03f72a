namespace OverlayKvm.Fuzz.Fixtures;

/// <summary>A clock that never moves: the same input takes the same path on every run (afl-fuzz stability).</summary>
internal sealed class FixedTime : TimeProvider
{
    public static readonly DateTimeOffset Now = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    public override DateTimeOffset GetUtcNow() => Now;
}
