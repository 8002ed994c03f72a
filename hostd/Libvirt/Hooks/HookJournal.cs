namespace OverlayKvm.HostDaemon.Libvirt;

/// <summary>One hook invocation as overlayd saw it.</summary>
public sealed record HookRecord(string Domain, string Operation, string SubOperation, bool Ours, bool Allowed, string? Reason, DateTimeOffset At);

/// <summary>
/// The recent hook invocations (bounded), in arrival order, plus an event for components that act on them
/// (e.g. "started": push the agent its configuration). Handlers must not block: libvirt waits on the hook.
/// </summary>
public sealed class HookJournal
{
    public const int Capacity = 512;

    private readonly Lock _gate = new();
    private readonly Queue<HookRecord> _recent = new();
    private long _handlerFailures;

    public event Action<HookRecord>? Received;

    public long HandlerFailures => Interlocked.Read(ref _handlerFailures);

    public IReadOnlyList<HookRecord> Recent()
    {
        lock (_gate)
        {
            return [.. _recent];
        }
    }

    internal void Add(HookRecord record)
    {
        lock (_gate)
        {
            if (_recent.Count == Capacity)
            {
                _recent.Dequeue();
            }
            _recent.Enqueue(record);
        }
        var handlers = Received;
        if (handlers is null)
        {
            return;
        }
        foreach (Action<HookRecord> handler in handlers.GetInvocationList())
        {
            try
            {
                handler(record);
            }
            catch (Exception)
            {
                Interlocked.Increment(ref _handlerFailures);
            }
        }
    }
}
