using OverlayKvm.Core.Channel;
using OverlayKvm.Core.Config;

namespace OverlayKvm.GuestAgent.Config;

/// <summary>
/// Members the directory named in answers to this agent's lookups (seed 002 R5: "request on a miss") that its last
/// document did not list yet. They are merged into the document before it is compiled, so a learned member gets a
/// route, a peer and receive keys exactly like a pushed one; an entry lives until its TTL ends or a pushed document
/// at least as new as the answer arrives (which lists the member itself, or no longer does).
/// </summary>
internal sealed class LearnedRoutes
{
    private readonly Dictionary<string, Entry> _byAddress = new(StringComparer.Ordinal);

    /// <summary>Serializes compile-and-publish between pushed documents and learned answers, so neither undoes the other.</summary>
    public Lock Sync { get; } = new();

    public int Count
    {
        get
        {
            lock (_byAddress)
            {
                return _byAddress.Count;
            }
        }
    }

    public void Add(DirectoryAnswer answer, long nowTicks)
    {
        if (!answer.Found || answer.Group is null || answer.Member is null)
        {
            return;
        }
        lock (_byAddress)
        {
            _byAddress[answer.Member.Address] = new Entry(answer.Group, answer.Member, answer.Version, nowTicks + TimeSpan.FromSeconds(answer.TtlSeconds).Ticks);
        }
    }

    /// <summary>
    /// <paramref name="document"/> with every live learned member newer than it added to its group (or neighbor group)
    /// of that name; members of groups the document does not describe are left out (no keys to reach them).
    /// </summary>
    public DomainConfigDocument Merge(DomainConfigDocument document, long nowTicks)
    {
        List<Entry> live;
        lock (_byAddress)
        {
            live = [];
            foreach (var (address, entry) in _byAddress.ToArray())
            {
                if (entry.ExpiresTicks <= nowTicks || entry.Version <= document.Version)
                {
                    _byAddress.Remove(address);
                    continue;
                }
                live.Add(entry);
            }
        }
        if (live.Count == 0)
        {
            return document;
        }
        var groups = new List<GroupConfig>(document.Groups.Count);
        foreach (var group in document.Groups)
        {
            groups.Add(group with { Members = With(group.Members, group.Name, live) });
        }
        var neighbors = new List<NeighborGroupConfig>(document.Neighbors.Count);
        foreach (var neighbor in document.Neighbors)
        {
            neighbors.Add(neighbor with { Members = With(neighbor.Members, neighbor.Name, live) });
        }
        return document with { Groups = groups, Neighbors = neighbors };
    }

    private static IReadOnlyList<MemberConfig> With(IReadOnlyList<MemberConfig> members, string group, List<Entry> live)
    {
        List<MemberConfig>? merged = null;
        foreach (var entry in live)
        {
            if (!string.Equals(entry.Group, group, StringComparison.Ordinal) || Contains(members, entry.Member.Address))
            {
                continue;
            }
            merged ??= [.. members];
            merged.Add(entry.Member);
        }
        return merged ?? members;
    }

    private static bool Contains(IReadOnlyList<MemberConfig> members, string address)
    {
        foreach (var member in members)
        {
            if (string.Equals(member.Address, address, StringComparison.Ordinal))
            {
                return true;
            }
        }
        return false;
    }

    private sealed record Entry(string Group, MemberConfig Member, long Version, long ExpiresTicks);
}
