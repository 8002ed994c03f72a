using OverlayKvm.Core.Api;
using OverlayKvm.Core.Cluster;
using OverlayKvm.Core.Store;

namespace OverlayKvm.HostDaemon.Cluster;

/// <summary>The inventory as operators see it: hosts by name, each with liveness, its domains and the room left.</summary>
internal static class HostInventory
{
    public static List<HostView> Views(StoreSnapshot snapshot, IHostLiveness liveness)
    {
        var domainsByHost = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var d in snapshot.Domains)
        {
            if (!domainsByHost.TryGetValue(d.Host, out var list)) domainsByHost[d.Host] = list = [];
            list.Add(d.Name);
        }

        var views = new List<HostView>(snapshot.Hosts.Count);
        foreach (var h in snapshot.Hosts)
        {
            var domains = domainsByHost.TryGetValue(h.Name, out var list) ? list : [];
            domains.Sort(StringComparer.Ordinal);
            views.Add(new HostView(h.Name, liveness.IsAlive(h.Name), h.Address.ToString(), h.Capacity, domains,
                Math.Max(0, h.Capacity - domains.Count), h.Version));
        }

        views.Sort(static (a, b) => string.CompareOrdinal(a.Name, b.Name));
        return views;
    }
}
