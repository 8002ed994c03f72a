using System.Collections.Concurrent;

namespace OverlayKvm.GuestAgent.Policy;

/// <summary>
/// A bounded table whose room is shared out per peer VM (issue 14 item 8): one peer that sprays ports fills only
/// its own share and then displaces its own least recently used entries, never another peer's state. Lookups are
/// lock-free (datapath threads); inserts and removals take one lock (they happen per decision or per new
/// connection, not per packet) so the per-peer bookkeeping stays exact.
/// </summary>
internal abstract class PeerQuotaTable<TKey, TValue>
    where TKey : notnull
    where TValue : PeerEntry
{
    private readonly ConcurrentDictionary<TKey, TValue> _entries = new();
    private readonly Dictionary<uint, HashSet<TKey>> _byPeer = [];
    private readonly Lock _write = new();
    private readonly int _capacity;
    private readonly int _perPeer;

    protected PeerQuotaTable(int capacity, int perPeer)
    {
        _capacity = capacity;
        _perPeer = Math.Max(1, Math.Min(perPeer, capacity));
    }

    public int Count => _entries.Count;

    /// <summary>How many entries <paramref name="peer"/> holds (tests and diagnostics).</summary>
    public int CountOf(uint peer)
    {
        lock (_write)
        {
            return _byPeer.TryGetValue(peer, out HashSet<TKey>? share) ? share.Count : 0;
        }
    }

    protected bool TryGetValue(in TKey key, out TValue value) => _entries.TryGetValue(key, out value!);

    /// <summary>
    /// Records (or replaces) an entry. A new key of a peer at its share first evicts that peer's least recently
    /// used entries; false only when the whole table is full and the key is new.
    /// </summary>
    public bool TrySet(in TKey key, TValue value)
    {
        // Callers stamp LastUsedMs from their own clock (TransmissionManager.NowMs): one time base per table.
        lock (_write)
        {
            if (_entries.TryGetValue(key, out TValue? old))
            {
                if (old.PeerIndex != value.PeerIndex)
                {
                    ForgetLocked(key, old.PeerIndex);
                    ShareOfLocked(value.PeerIndex).Add(key);
                }
                _entries[key] = value;
                return true;
            }
            HashSet<TKey> share = ShareOfLocked(value.PeerIndex);
            if (share.Count >= _perPeer)
            {
                EvictLeastRecentlyUsedLocked(share);
            }
            if (_entries.Count >= _capacity)
            {
                return false;
            }
            share.Add(key);
            _entries[key] = value;
            return true;
        }
    }

    public bool Remove(in TKey key)
    {
        lock (_write)
        {
            if (!_entries.TryRemove(key, out TValue? old))
            {
                return false;
            }
            ForgetLocked(key, old.PeerIndex);
            return true;
        }
    }

    /// <summary>Removes every entry the predicate selects; returns the removed ones (for notices and counts).</summary>
    public List<KeyValuePair<TKey, TValue>> RemoveWhere(Func<TKey, TValue, bool> predicate)
    {
        var removed = new List<KeyValuePair<TKey, TValue>>();
        lock (_write)
        {
            foreach (var pair in _entries)
            {
                if (predicate(pair.Key, pair.Value) && _entries.TryRemove(pair))
                {
                    ForgetLocked(pair.Key, pair.Value.PeerIndex);
                    removed.Add(pair);
                }
            }
        }
        return removed;
    }

    public List<KeyValuePair<TKey, TValue>> Snapshot() => [.. _entries];

    private HashSet<TKey> ShareOfLocked(uint peer)
    {
        if (!_byPeer.TryGetValue(peer, out HashSet<TKey>? share))
        {
            share = [];
            _byPeer.Add(peer, share);
        }
        return share;
    }

    private void ForgetLocked(in TKey key, uint peer)
    {
        if (_byPeer.TryGetValue(peer, out HashSet<TKey>? share) && share.Remove(key) && share.Count == 0)
        {
            _byPeer.Remove(peer);
        }
    }

    /// <summary>
    /// Frees room in a full share: removes up to an eighth of it, oldest first — every entry last used no later
    /// than an eighth of the way from the share's oldest to its newest use. One scan per eighth of a share keeps
    /// a spraying peer's inserts amortised O(8), instead of a scan per packet.
    /// </summary>
    private void EvictLeastRecentlyUsedLocked(HashSet<TKey> share)
    {
        long oldest = long.MaxValue;
        long newest = long.MinValue;
        foreach (TKey key in share)
        {
            long used = _entries.TryGetValue(key, out TValue? entry) ? Volatile.Read(ref entry.LastUsedMs) : long.MinValue;
            oldest = Math.Min(oldest, used);
            newest = Math.Max(newest, used);
        }
        long cutoff = oldest + ((newest - oldest) / 8);
        int budget = Math.Max(1, share.Count / 8);
        var victims = new List<TKey>(budget);
        foreach (TKey key in share)
        {
            if (victims.Count == budget)
            {
                break;
            }
            if (!_entries.TryGetValue(key, out TValue? entry) || Volatile.Read(ref entry.LastUsedMs) <= cutoff)
            {
                victims.Add(key);
            }
        }
        foreach (TKey key in victims)
        {
            _entries.TryRemove(key, out _);
            share.Remove(key);
        }
    }
}
