using OverlayKvm.Core.Api;
using Microsoft.Extensions.Options;
using OverlayKvm.Core.Cluster;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.Store;

namespace OverlayKvm.HostDaemon.Placement;

/// <summary>
/// R0.16: a new member goes where its group already runs while that host has capacity, so that the group's
/// traffic takes the shared-memory path. Otherwise the host with the most free capacity (this host on ties).
/// Deterministic: the same store state gives the same answer, with a reason an operator can read. In a cluster only
/// live hosts (<see cref="IHostLiveness"/>) are candidates.
/// </summary>
internal sealed class PlacementPlanner(IOverlayStore store, IOptionsMonitor<PlacementOptions> options, IHostLiveness? liveness = null)
{
    public string LocalHost => options.CurrentValue.HostName;

    /// <param name="declaredGroups">Groups named in the domain's metadata; the store's apps of the domain add theirs.</param>
    public PlacementDecision Choose(string domain, IEnumerable<string>? declaredGroups = null)
    {
        var groups = new SortedSet<string>(StringComparer.Ordinal);
        if (declaredGroups is not null)
        {
            groups.UnionWith(declaredGroups);
        }
        var apps = store.ListApplications();
        foreach (var app in apps)
        {
            if (app.Domain == domain)
            {
                groups.Add(app.Group);
            }
        }

        var domainHost = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var record in store.ListDomains())
        {
            domainHost[record.Name] = record.Host;
        }

        // Domains (other than this one) that run a member of one of our groups.
        var memberDomains = new HashSet<string>(StringComparer.Ordinal);
        foreach (var app in apps)
        {
            if (app.Domain != domain && groups.Contains(app.Group))
            {
                memberDomains.Add(app.Domain);
            }
        }

        var candidates = new List<PlacementCandidate>();
        foreach (var host in Inventory())
        {
            int used = 0, members = 0;
            foreach (var (name, placedOn) in domainHost)
            {
                if (name == domain || placedOn != host.Name)
                {
                    continue;
                }
                used++;
                if (memberDomains.Contains(name))
                {
                    members++;
                }
            }
            candidates.Add(new PlacementCandidate(host.Name, host.Capacity, used, members));
        }
        candidates.Sort((a, b) => string.CompareOrdinal(a.Host, b.Host));

        string groupList = groups.Count == 0 ? "(none)" : string.Join(", ", groups);
        var grouped = Best(candidates, c => c.GroupMembers > 0 && c.HasCapacity, byMembers: true);
        if (grouped is not null)
        {
            return Decide(domain, grouped.Host, groups, candidates,
                $"host '{grouped.Host}' runs {grouped.GroupMembers} member domain(s) of group(s) {groupList} and has capacity ({grouped.Used}/{grouped.Capacity} used)");
        }

        var fallback = Best(candidates, c => c.HasCapacity, byMembers: false);
        var fullGroupHosts = candidates.FindAll(c => c.GroupMembers > 0);
        if (fallback is null)
        {
            return Decide(domain, null, groups, candidates, $"no host has free capacity ({Describe(candidates)})");
        }
        if (fullGroupHosts.Count > 0)
        {
            return Decide(domain, fallback.Host, groups, candidates,
                $"group(s) {groupList} run on {Describe(fullGroupHosts)}, which is full; host '{fallback.Host}' has the most free capacity ({fallback.Used}/{fallback.Capacity} used)");
        }
        return Decide(domain, fallback.Host, groups, candidates,
            $"no member of group(s) {groupList} is placed yet; host '{fallback.Host}' has the most free capacity ({fallback.Used}/{fallback.Capacity} used)");
    }

    /// <summary>
    /// The store's live hosts (a host whose lease expired is not a candidate), plus this host with its configured
    /// capacity when the store does not list it yet.
    /// </summary>
    public IReadOnlyList<(string Name, int Capacity)> Inventory()
    {
        var o = options.CurrentValue;
        var hosts = new List<(string, int)>();
        bool local = false;
        foreach (HostRecord h in store.ListHosts())
        {
            var isLocal = h.Name == o.HostName;
            local |= isLocal;
            if (isLocal || liveness is null || liveness.IsAlive(h.Name))
            {
                hosts.Add((h.Name, h.Capacity));
            }
        }
        if (!local)
        {
            hosts.Add((o.HostName, o.LocalCapacity));
        }
        return hosts;
    }

    private PlacementCandidate? Best(List<PlacementCandidate> candidates, Predicate<PlacementCandidate> eligible, bool byMembers)
    {
        PlacementCandidate? best = null;
        foreach (var c in candidates)
        {
            if (!eligible(c))
            {
                continue;
            }
            if (best is null || Better(c, best, byMembers))
            {
                best = c;
            }
        }
        return best;
    }

    // Most group members (when grouping), then most free slots, then this host, then name order (candidates are sorted).
    private bool Better(PlacementCandidate c, PlacementCandidate best, bool byMembers)
    {
        if (byMembers && c.GroupMembers != best.GroupMembers)
        {
            return c.GroupMembers > best.GroupMembers;
        }
        int free = c.Capacity - c.Used, bestFree = best.Capacity - best.Used;
        if (free != bestFree)
        {
            return free > bestFree;
        }
        return c.Host == LocalHost && best.Host != LocalHost;
    }

    private static string Describe(List<PlacementCandidate> hosts)
    {
        var parts = new List<string>(hosts.Count);
        foreach (var h in hosts)
        {
            parts.Add($"'{h.Host}' {h.Used}/{h.Capacity}");
        }
        return string.Join(", ", parts);
    }

    private static PlacementDecision Decide(string domain, string? host, SortedSet<string> groups, List<PlacementCandidate> candidates, string reason) =>
        new(domain, host, reason, [.. groups], candidates);
}
