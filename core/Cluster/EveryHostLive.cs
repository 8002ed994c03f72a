namespace OverlayKvm.Core.Cluster;

/// <summary>One host, or a store without leases (SQLite): every host in the inventory counts as alive.</summary>
public sealed class EveryHostLive : IHostLiveness
{
    public static readonly EveryHostLive Instance = new();

    public bool IsAlive(string host) => true;

    // Nothing ever changes: subscribers are not kept.
    public event Action? Changed
    {
        add { }
        remove { }
    }
}
