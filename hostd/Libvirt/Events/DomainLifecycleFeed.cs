namespace OverlayKvm.HostDaemon.Libvirt;

/// <summary>What a reconcile pass found after (re)connecting: every domain libvirt knows, and what was equipped.</summary>
/// <param name="Connection">1 for the first connection, 2 after the first reconnect, …</param>
public sealed record ReconcileReport(long Connection, IReadOnlyList<string> Domains, IReadOnlyList<InjectionResult> Equipped, IReadOnlyList<string> Failures);

/// <summary>
/// Where the rest of overlayd observes libvirt: lifecycle events in the order libvirt sent them, and a
/// reconcile report after each (re)connection so that anything missed while disconnected can be caught up.
/// Handlers run on the event service's worker, must not block, and their exceptions are counted.
/// </summary>
public sealed class DomainLifecycleFeed
{
    private long _handlerFailures;
    private long _connections;

    public event Action<DomainLifecycleEvent>? EventObserved;
    public event Action<ReconcileReport>? Reconciled;
    public event Action<InjectionResult>? DomainEquipped;

    /// <summary>Connections established so far (the first counts).</summary>
    public long Connections => Interlocked.Read(ref _connections);

    public long HandlerFailures => Interlocked.Read(ref _handlerFailures);

    internal long NextConnection() => Interlocked.Increment(ref _connections);

    internal void Publish(DomainLifecycleEvent e) => Invoke(EventObserved, e);
    internal void Publish(ReconcileReport r) => Invoke(Reconciled, r);
    internal void Publish(InjectionResult r) => Invoke(DomainEquipped, r);

    private void Invoke<T>(Action<T>? handlers, T value)
    {
        if (handlers is null)
        {
            return;
        }
        foreach (Action<T> handler in handlers.GetInvocationList())
        {
            try
            {
                handler(value);
            }
            catch (Exception)
            {
                Interlocked.Increment(ref _handlerFailures);
            }
        }
    }
}
