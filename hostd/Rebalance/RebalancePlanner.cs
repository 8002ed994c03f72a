using System.Globalization;
using OverlayKvm.Core.Api;
using OverlayKvm.Core.Model;

namespace OverlayKvm.HostDaemon.Rebalance;

/// <summary>What the planner decides from: the store's placement and the measured pair rates.</summary>
/// <param name="Hosts">Live hosts with their capacity (<see cref="Placement.PlacementPlanner.Inventory"/>): the only targets.</param>
/// <param name="MovesLeft">How many moves the hourly bound still allows.</param>
internal sealed record RebalanceInput(
    IReadOnlyList<DomainRecord> Domains,
    IReadOnlyList<(string Name, int Capacity)> Hosts,
    IReadOnlyCollection<string> Pinned,
    IReadOnlyList<PeerPairTraffic> Pairs,
    int MovesLeft,
    double MinBytesPerSecond);

/// <summary>
/// Issue 15, automatic co-location: proposes live migrations that put members that talk a lot onto one host, so
/// their traffic leaves the network for the engine. Greedy, one move at a time, each on the placement the previous
/// moves left: the move with the largest net gain — traffic with domains on the target host (network today, engine
/// after) minus traffic with domains left behind (engine today, network after) — among domains that are not pinned,
/// not stopped and not moved yet in this plan, to live hosts with a free slot. Only pairs that share a group whose
/// engine is on count (only those can use an engine). Stops at the hourly bound, or when no move gains at least
/// MinBytesPerSecond net. Ties: smaller loss, then the target with more free slots, then domain and host name order
/// (deterministic: the same input gives the same plan).
/// </summary>
internal static class RebalancePlanner
{
    public static List<RebalanceProposal> Plan(RebalanceInput input)
    {
        var hostOf = new Dictionary<string, string>(StringComparer.Ordinal);
        var stopped = new HashSet<string>(StringComparer.Ordinal);
        var used = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var d in input.Domains)
        {
            hostOf[d.Name] = d.Host;
            used[d.Host] = used.GetValueOrDefault(d.Host) + 1;
            if (d.Stopped)
            {
                stopped.Add(d.Name);
            }
        }
        var capacity = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (name, cap) in input.Hosts)
        {
            capacity[name] = cap;
        }

        // Who talks to whom, and how much (network + engine: the pair's traffic whatever path it takes today).
        var partners = new SortedDictionary<string, List<(string Peer, double Rate)>>(StringComparer.Ordinal);
        foreach (var p in input.Pairs)
        {
            double rate = p.Sealed + p.Engine;
            if (!p.CoLocatable || rate <= 0)
            {
                continue;
            }
            Add(partners, p.A, p.B, rate);
            Add(partners, p.B, p.A, rate);
        }

        var moved = new HashSet<string>(StringComparer.Ordinal);
        var proposals = new List<RebalanceProposal>();
        while (proposals.Count < input.MovesLeft)
        {
            Candidate? best = null;
            foreach (var (domain, peers) in partners)
            {
                if (moved.Contains(domain) || input.Pinned.Contains(domain) || stopped.Contains(domain) || !hostOf.TryGetValue(domain, out var from))
                {
                    continue;
                }
                var targets = new SortedSet<string>(StringComparer.Ordinal);
                foreach (var (peer, _) in peers)
                {
                    if (hostOf.TryGetValue(peer, out var h) && h != from)
                    {
                        targets.Add(h);
                    }
                }
                foreach (string to in targets)
                {
                    if (!capacity.TryGetValue(to, out int cap) || used.GetValueOrDefault(to) >= cap)
                    {
                        continue;
                    }
                    double gain = 0, loss = 0;
                    var joined = new List<string>();
                    foreach (var (peer, rate) in peers)
                    {
                        string? at = hostOf.GetValueOrDefault(peer);
                        if (at == to)
                        {
                            gain += rate;
                            joined.Add(peer);
                        }
                        else if (at == from)
                        {
                            loss += rate;
                        }
                    }
                    var c = new Candidate(domain, from, to, gain, loss, cap - used.GetValueOrDefault(to), joined);
                    if (gain - loss >= Math.Max(input.MinBytesPerSecond, double.Epsilon) && (best is null || Better(c, best)))
                    {
                        best = c;
                    }
                }
            }
            if (best is null)
            {
                break;
            }
            hostOf[best.Domain] = best.To;
            used[best.From]--;
            used[best.To] = used.GetValueOrDefault(best.To) + 1;
            moved.Add(best.Domain);
            proposals.Add(new RebalanceProposal(best.Domain, best.From, best.To, best.Gain, best.Loss, Reason(best, used[best.To], capacity[best.To])));
        }
        return proposals;
    }

    private static void Add(SortedDictionary<string, List<(string, double)>> partners, string a, string b, double rate)
    {
        if (!partners.TryGetValue(a, out var list))
        {
            partners[a] = list = [];
        }
        list.Add((b, rate));
    }

    private static bool Better(Candidate c, Candidate best)
    {
        double net = c.Gain - c.Loss, bestNet = best.Gain - best.Loss;
        if (net != bestNet)
        {
            return net > bestNet;
        }
        if (c.Loss != best.Loss)
        {
            return c.Loss < best.Loss;
        }
        if (c.Free != best.Free)
        {
            return c.Free > best.Free;
        }
        return string.CompareOrdinal(c.Domain, best.Domain) is var byDomain and not 0 ? byDomain < 0 : string.CompareOrdinal(c.To, best.To) < 0;
    }

    private static string Reason(Candidate c, int usedAfter, int capacity) => string.Create(CultureInfo.InvariantCulture,
        $"{c.Domain} exchanges {c.Gain:0} B/s over the network with {string.Join(", ", c.Joined)} on {c.To} and {c.Loss:0} B/s with domains on {c.From}; {c.To} has room ({usedAfter}/{capacity} used after the move)");

    private sealed record Candidate(string Domain, string From, string To, double Gain, double Loss, int Free, List<string> Joined);
}
