namespace OverlayKvm.GuestAgent.Config;

/// <summary>Holds the current compiled configuration. Writers publish whole snapshots; readers take one reference.</summary>
internal sealed class AgentState
{
    private AgentSnapshot? _current;

    /// <summary>Raised (on the publishing thread) after a new snapshot is published.</summary>
    public event Action<AgentSnapshot>? Changed;

    public AgentSnapshot? Current => Volatile.Read(ref _current);

    public void Publish(AgentSnapshot snapshot)
    {
        Volatile.Write(ref _current, snapshot);
        Changed?.Invoke(snapshot);
    }
}
