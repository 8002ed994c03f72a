using OverlayKvm.GuestAgent.Tun;

namespace OverlayKvm.GuestAgent.Control;

/// <summary>
/// Answers `overlay-agent wait-app`: completes when an app is counted in (its address, rule and routes exist),
/// by whichever holder (a unit seen activating, a process). Event-driven on <see cref="AdapterManager.AppChanged"/>;
/// the check after subscribing closes the race with a count-in that happened just before.
/// </summary>
internal sealed class AppCountedInWaiter
{
    private readonly AdapterManager _adapters;
    private readonly Lock _lock = new();
    private readonly List<(string App, string? Group, TaskCompletionSource Done)> _waiters = new();

    public AppCountedInWaiter(AdapterManager adapters)
    {
        _adapters = adapters;
        _adapters.AppChanged += (binding, started) =>
        {
            if (!started)
            {
                return;
            }
            lock (_lock)
            {
                foreach (var (app, group, done) in _waiters)
                {
                    if (app == binding.App && (group is null || group == binding.Group))
                    {
                        done.TrySetResult();
                    }
                }
            }
        };
    }

    /// <summary>True once app is counted in, false when timeout passes first.</summary>
    public async Task<bool> WaitAsync(string app, string? group, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var entry = (app, group, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        lock (_lock)
        {
            _waiters.Add(entry);
        }
        try
        {
            if (_adapters.IsCountedIn(app, group))
            {
                return true;
            }
            try
            {
                await entry.Item3.Task.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
                return true;
            }
            catch (TimeoutException)
            {
                return false;
            }
        }
        finally
        {
            lock (_lock)
            {
                _waiters.Remove(entry);
            }
        }
    }
}
