using Microsoft.Extensions.Hosting;

namespace OverlayKvm.GuestAgent.Policy;

/// <summary>
/// The transmission manager's housekeeping (seed 004 R4.9, R4.13): every <see cref="Interval"/> it re-asks
/// unanswered negotiations, turns silence past the timeout into deny rules, and sweeps expired rules. The
/// datapath also ignores an expired rule on lookup, so the sweep bounds memory, not correctness.
/// </summary>
internal sealed class TransmissionHousekeepingService : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);

    private readonly TransmissionManager _manager;

    public TransmissionHousekeepingService(TransmissionManager manager)
    {
        _manager = manager;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            _manager.Tick();
        }
    }
}
