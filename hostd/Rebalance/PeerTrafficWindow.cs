using OverlayKvm.Core.Api;

namespace OverlayKvm.HostDaemon.Rebalance;

/// <summary>
/// Samples of this host's agents' per-peer byte counters, one queue per domain, trimmed to the window. A rate is
/// the growth of a peer's total (in + out) between the oldest and the newest sample of the window, per second. The
/// counters only grow while an agent runs; a total that shrank means the agent restarted, so the samples before the
/// restart are dropped rather than read as a negative rate.
/// </summary>
internal sealed class PeerTrafficWindow
{
    private readonly Dictionary<string, List<Sample>> _samples = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public void Record(string domain, DateTimeOffset at, AgentCounters counters, TimeSpan window)
    {
        var totals = new Dictionary<string, (long Sealed, long Engine)>(counters.Peers.Count, StringComparer.Ordinal);
        foreach (AgentPeerCounters p in counters.Peers)
        {
            totals[p.Domain] = (p.Sealed.BytesIn + p.Sealed.BytesOut, p.Engine.BytesIn + p.Engine.BytesOut);
        }
        lock (_lock)
        {
            if (!_samples.TryGetValue(domain, out var list))
            {
                _samples[domain] = list = [];
            }
            if (list.Count > 0 && Shrank(list[^1].Totals, totals))
            {
                list.Clear();
            }
            list.Add(new Sample(at, totals));
            // Keep the newest sample at or before the window's start too, so the rate spans the whole window.
            while (list.Count > 2 && list[1].At <= at - window)
            {
                list.RemoveAt(0);
            }
        }
    }

    /// <summary>Drops the samples of domains this host no longer runs (migrated away, undefined).</summary>
    public void Retain(IReadOnlySet<string> domains)
    {
        lock (_lock)
        {
            var gone = new List<string>();
            foreach (string d in _samples.Keys)
            {
                if (!domains.Contains(d))
                {
                    gone.Add(d);
                }
            }
            foreach (string d in gone)
            {
                _samples.Remove(d);
            }
        }
    }

    /// <summary>Rates per (domain, peer) for every domain with two samples or more; the span they cover in seconds.</summary>
    public (List<DomainPeerRate> Rates, double Seconds) Rates()
    {
        var rates = new List<DomainPeerRate>();
        double longest = 0;
        lock (_lock)
        {
            foreach (var (domain, list) in _samples)
            {
                if (list.Count < 2)
                {
                    continue;
                }
                Sample first = list[0], last = list[^1];
                double seconds = (last.At - first.At).TotalSeconds;
                if (seconds <= 0)
                {
                    continue;
                }
                longest = Math.Max(longest, seconds);
                foreach (var (peer, now) in last.Totals)
                {
                    // A peer missing from the first sample was added since: its counters started at zero.
                    var before = first.Totals.GetValueOrDefault(peer);
                    rates.Add(new DomainPeerRate(domain, peer, (now.Sealed - before.Sealed) / seconds, (now.Engine - before.Engine) / seconds));
                }
            }
        }
        rates.Sort(static (a, b) => string.CompareOrdinal(a.Domain, b.Domain) is var d and not 0 ? d : string.CompareOrdinal(a.Peer, b.Peer));
        return (rates, longest);
    }

    private static bool Shrank(Dictionary<string, (long Sealed, long Engine)> before, Dictionary<string, (long Sealed, long Engine)> now)
    {
        foreach (var (peer, b) in before)
        {
            if (now.TryGetValue(peer, out var n) && (n.Sealed < b.Sealed || n.Engine < b.Engine))
            {
                return true;
            }
        }
        return false;
    }

    private sealed record Sample(DateTimeOffset At, Dictionary<string, (long Sealed, long Engine)> Totals);
}
