using OverlayKvm.Core.Api;
using OverlayKvm.Core.Model;

namespace OverlayKvm.HostDaemon.Rebalance;

/// <summary>
/// Combines the hosts' summaries into one rate per unordered domain pair. Both agents of a pair count the same
/// bytes (what one sends the other receives), so the pair's rate is the larger of the two views, not their sum:
/// either view alone is enough (a host whose summary is missing or late does not halve the pair), and a pair is
/// never counted twice.
/// </summary>
internal static class PairTraffic
{
    public static List<PeerPairTraffic> Combine(IReadOnlyList<HostTrafficSummary> summaries, IReadOnlyDictionary<string, DomainRecord> domains,
        IReadOnlyList<Application> apps, IReadOnlyCollection<string> engineDisabledGroups)
    {
        var pairs = new Dictionary<(string A, string B), (double Sealed, double Engine)>();
        foreach (var summary in summaries)
        {
            foreach (var r in summary.Rates)
            {
                if (r.Domain == r.Peer || !(r.Sealed >= 0) || !(r.Engine >= 0) || double.IsInfinity(r.Sealed) || double.IsInfinity(r.Engine))
                {
                    continue; // not a pair, or a negative / non-finite rate: nothing a planner can weigh
                }
                var key = string.CompareOrdinal(r.Domain, r.Peer) < 0 ? (r.Domain, r.Peer) : (r.Peer, r.Domain);
                var known = pairs.GetValueOrDefault(key);
                pairs[key] = (Math.Max(known.Sealed, r.Sealed), Math.Max(known.Engine, r.Engine));
            }
        }

        var groupsOf = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var app in apps)
        {
            if (engineDisabledGroups.Contains(app.Group))
            {
                continue;
            }
            if (!groupsOf.TryGetValue(app.Domain, out var set))
            {
                groupsOf[app.Domain] = set = new HashSet<string>(StringComparer.Ordinal);
            }
            set.Add(app.Group);
        }

        var result = new List<PeerPairTraffic>(pairs.Count);
        foreach (var ((a, b), rate) in pairs)
        {
            if (!domains.TryGetValue(a, out var da) || !domains.TryGetValue(b, out var db))
            {
                continue; // a domain the store no longer knows
            }
            bool coLocatable = groupsOf.TryGetValue(a, out var ga) && groupsOf.TryGetValue(b, out var gb) && ga.Overlaps(gb);
            result.Add(new PeerPairTraffic(a, da.Host, b, db.Host, rate.Sealed, rate.Engine, coLocatable));
        }
        // Chattiest first; ties by names, so the same input always lists (and plans) the same way.
        result.Sort(static (x, y) => (y.Sealed + y.Engine).CompareTo(x.Sealed + x.Engine) is var c and not 0 ? c
            : string.CompareOrdinal(x.A, y.A) is var a and not 0 ? a : string.CompareOrdinal(x.B, y.B));
        return result;
    }
}
