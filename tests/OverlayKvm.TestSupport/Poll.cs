using System.Diagnostics;

namespace OverlayKvm.TestSupport;

/// <summary>
/// The one way tests (and the bench) wait for something another thread or process makes true: poll the condition,
/// fail with a message naming what was awaited (and, when given, what the other side said) once the time is up.
/// </summary>
public static class Poll
{
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromMilliseconds(20);

    /// <summary>Waits on the calling thread; <paramref name="describe"/> adds context (a log) to the timeout message.</summary>
    public static void Until(Func<bool> condition, TimeSpan timeout, string what, Func<string>? describe = null, TimeSpan? interval = null)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > timeout)
            {
                throw Timeout(timeout, what, describe);
            }
            Thread.Sleep(interval ?? DefaultInterval);
        }
    }

    /// <summary>Waits asynchronously; cancellation ends the wait with <see cref="OperationCanceledException"/>.</summary>
    public static async Task UntilAsync(Func<bool> condition, TimeSpan timeout, string what, Func<string>? describe = null,
        TimeSpan? interval = null, CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > timeout)
            {
                throw Timeout(timeout, what, describe);
            }
            await Task.Delay(interval ?? DefaultInterval, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Waits for an asynchronous probe (a CLI answer, a reading over a socket) to give a value, and returns it; null
    /// means "not yet".
    /// </summary>
    public static async Task<T> UntilValueAsync<T>(Func<Task<T?>> probe, TimeSpan timeout, string what, Func<string>? describe = null,
        TimeSpan? interval = null, CancellationToken cancellationToken = default)
        where T : struct
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (await probe().ConfigureAwait(false) is { } value)
            {
                return value;
            }
            if (clock.Elapsed > timeout)
            {
                throw Timeout(timeout, what, describe);
            }
            await Task.Delay(interval ?? DefaultInterval, cancellationToken).ConfigureAwait(false);
        }
    }

    private static TimeoutException Timeout(TimeSpan timeout, string what, Func<string>? describe) =>
        new($"waited {timeout.TotalSeconds:0.#} s for: {what}{(describe is null ? "" : Environment.NewLine + describe())}");
}
