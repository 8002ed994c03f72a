using Microsoft.Extensions.Hosting;

namespace OverlayKvm.GuestAgent.Policy;

/// <summary>
/// The transmission manager's housekeeping (seed 004 R4.9, R4.13): every <see cref="Interval"/> while a
/// negotiation is pending it re-asks unanswered negotiations and turns silence past the timeout into deny rules;
/// with nothing pending it only sweeps expired rules, every <see cref="IdleInterval"/>, and a starting negotiation
/// wakes it at once. The datapath ignores an expired rule on lookup, so the slower sweep bounds memory, not
/// correctness — and an idle agent is not woken ten times a second for nothing.
/// </summary>
internal sealed class TransmissionHousekeepingService : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);

    public static readonly TimeSpan IdleInterval = TimeSpan.FromSeconds(2);

    private readonly TransmissionManager _manager;

    public TransmissionHousekeepingService(TransmissionManager manager)
    {
        _manager = manager;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            if (_manager.HasPending)
            {
                await Task.Delay(Interval, stoppingToken).ConfigureAwait(false);
            }
            else
            {
                using var idle = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                idle.CancelAfter(IdleInterval);
                try
                {
                    await _manager.WaitForNegotiationAsync(idle.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
                {
                    // The idle interval passed without a negotiation: time for the sweep.
                }
            }
            _manager.ClearNegotiationSignal();
            _manager.Tick();
        }
    }
}
