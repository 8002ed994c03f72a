namespace OverlayKvm.GuestAgent.Policy;

/// <summary>A connection seen in its allowed direction; its only state is its owner and last use.</summary>
internal sealed class Connection : PeerEntry;

/// <summary>
/// The connections whose replies may pass without their own rule (stateful replies, R4.12), by full 5-tuple.
/// Shared by both directions (a connection's key names its opening direction). Per-peer shares as in
/// <see cref="RuleTable"/>, so one peer opening connections cannot evict another peer's reply state.
/// </summary>
internal sealed class ConnectionTable : PeerQuotaTable<ConnectionKey, Connection>
{
    public ConnectionTable(int capacity, int perPeer)
        : base(capacity, perPeer)
    {
    }

    /// <summary>Records a connection a rule allowed, or refreshes it. Allocates only for a new connection.</summary>
    public void Note(in ConnectionKey key, uint peer, long nowMs)
    {
        if (TryGetValue(key, out Connection existing))
        {
            existing.Touch(nowMs);
            return;
        }
        TrySet(key, new Connection { PeerIndex = peer, LastUsedMs = nowMs });
    }

    /// <summary>True when <paramref name="key"/> was opened and used within <paramref name="idleMs"/> (marks it used).</summary>
    public bool IsOpen(in ConnectionKey key, long nowMs, long idleMs)
    {
        if (TryGetValue(key, out Connection connection) && nowMs - Volatile.Read(ref connection.LastUsedMs) < idleMs)
        {
            connection.Touch(nowMs);
            return true;
        }
        return false;
    }
}
