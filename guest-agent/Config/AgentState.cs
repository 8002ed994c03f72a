namespace OverlayKvm.GuestAgent.Config;

/// <summary>
/// Holds the current compiled configuration. Writers publish whole snapshots; readers take one reference. The
/// keys a new snapshot no longer holds (an epoch rotated out, a peer or group dropped) are disposed — their
/// OpenSSL contexts freed and cleansed, their sender keys zeroed — once no packet can still be using them
/// (<see cref="RetiredKeys"/>).
/// </summary>
internal sealed class AgentState(TimeSpan? keyRetireGrace = null)
{
    private readonly TimeSpan _keyRetireGrace = keyRetireGrace ?? RetiredKeys.DefaultGrace;
    private AgentSnapshot? _current;

    /// <summary>Raised (on the publishing thread) after a new snapshot is published.</summary>
    public event Action<AgentSnapshot>? Changed;

    public AgentSnapshot? Current => Volatile.Read(ref _current);

    public void Publish(AgentSnapshot snapshot)
    {
        AgentSnapshot? previous = Interlocked.Exchange(ref _current, snapshot);
        Changed?.Invoke(snapshot);
        if (previous is not null && !ReferenceEquals(previous, snapshot))
        {
            RetiredKeys.DisposeLater(RetiredKeys.DroppedBy(previous, snapshot), _keyRetireGrace);
        }
    }
}
