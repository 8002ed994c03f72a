namespace OverlayKvm.GuestAgent.Pipeline;

/// <summary>Packets and bytes of one group on one path, both directions. Updated with Interlocked: no locks per packet.</summary>
internal sealed class PathCounters
{
    private long _packetsOut;
    private long _bytesOut;
    private long _packetsIn;
    private long _bytesIn;

    public long PacketsOut => Volatile.Read(ref _packetsOut);
    public long BytesOut => Volatile.Read(ref _bytesOut);
    public long PacketsIn => Volatile.Read(ref _packetsIn);
    public long BytesIn => Volatile.Read(ref _bytesIn);

    /// <param name="packets">Wire-sized packets the bytes stand for (a super-packet counts its segments).</param>
    public void CountOut(int bytes, int packets = 1)
    {
        Interlocked.Add(ref _packetsOut, packets);
        Interlocked.Add(ref _bytesOut, bytes);
    }

    public void CountIn(int bytes, int packets = 1)
    {
        Interlocked.Add(ref _packetsIn, packets);
        Interlocked.Add(ref _bytesIn, bytes);
    }
}

/// <summary>Counters of one group: the local path (same VM), the engine path (other VMs on this host, shared-memory
/// rings), the sealed path (other VMs over UDP, sealed or authenticated) and the clear path (trusted segments).</summary>
internal sealed class GroupCounters
{
    public GroupCounters(string group) => Group = group;

    public string Group { get; }

    public PathCounters Local { get; } = new();

    public PathCounters Sealed { get; } = new();

    public PathCounters Engine { get; } = new();

    /// <summary>Encapsulated in clear between VMs on a trusted segment (seed 002 R14).</summary>
    public PathCounters Clear { get; } = new();
}

/// <summary>
/// All datapath counters of the agent. Group counters outlive configuration versions (kept by group name), so a
/// new document does not reset them. Drops are counted per reason for the whole agent, since a malformed frame
/// cannot be attributed to a group.
/// </summary>
internal sealed class DatapathCounters
{
    private readonly long[] _drops = new long[DropReasons.Count];
    private readonly Dictionary<string, GroupCounters> _groups = new(StringComparer.Ordinal);
    private readonly Dictionary<string, PeerCounters> _peers = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public void Drop(DropReason reason) => Interlocked.Increment(ref _drops[(int)reason]);

    public void Drop(DropReason reason, int count) => Interlocked.Add(ref _drops[(int)reason], count);

    public long Drops(DropReason reason) => Volatile.Read(ref _drops[(int)reason]);

    public GroupCounters ForGroup(string group) => GetOrAdd(_groups, group, static g => new GroupCounters(g));

    public GroupCounters[] Groups()
    {
        lock (_lock)
        {
            var all = _groups.Values.ToArray();
            Array.Sort(all, (a, b) => string.CompareOrdinal(a.Group, b.Group));
            return all;
        }
    }

    /// <summary>The counters of the peer VM <paramref name="domain"/>, kept across configuration versions like group counters.</summary>
    public PeerCounters ForPeer(string domain) => GetOrAdd(_peers, domain, static d => new PeerCounters(d));

    /// <summary>
    /// Forgets peers the new configuration no longer names (they left every group), so the table and the counter
    /// reply stay bounded by the document rather than by every VM ever seen.
    /// </summary>
    public void RetainPeers(IReadOnlySet<string> domains)
    {
        lock (_lock)
        {
            var gone = new List<string>();
            foreach (string d in _peers.Keys)
            {
                if (!domains.Contains(d))
                {
                    gone.Add(d);
                }
            }
            foreach (string d in gone)
            {
                _peers.Remove(d);
            }
        }
    }

    public PeerCounters[] Peers()
    {
        lock (_lock)
        {
            var all = _peers.Values.ToArray();
            Array.Sort(all, (a, b) => string.CompareOrdinal(a.Domain, b.Domain));
            return all;
        }
    }

    // Called while a configuration is compiled, never per packet: the datapath holds the references it got here.
    private T GetOrAdd<T>(Dictionary<string, T> table, string name, Func<string, T> create)
    {
        lock (_lock)
        {
            if (!table.TryGetValue(name, out T? c))
            {
                c = create(name);
                table.Add(name, c);
            }
            return c;
        }
    }
}
