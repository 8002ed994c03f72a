using Microsoft.Extensions.Time.Testing;

namespace OverlayKvm.TestSupport;

/// <summary>The clock tests move by hand: the library's fake, started at the fixtures' date.</summary>
public static class TestClock
{
    public static readonly DateTimeOffset Start = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

    public static FakeTimeProvider Create() => new(Start);
}
