using System.Globalization;
using OverlayKvm.Core.Config;
using OverlayKvm.GuestAgent.State;

namespace OverlayKvm.GuestAgent.Tun;

/// <summary>
/// Writes application overlay entities and group adapters into the VM's kernel with `ip`: the app's source rule,
/// its address on the adapter, its routing table and routes (R0.5, R0.9), and the adapter's link settings. Knows
/// nothing of counting: <see cref="AdapterManager"/> decides when an entity exists.
/// </summary>
internal sealed class ApplicationRouting(IpCommand ip)
{
    /// <summary>Priority of the per-app source rules: before the main table (32766), after local (0).</summary>
    public const string RulePriority = "1000";

    /// <summary>Brings a group's adapter up: IPv6 off, MTU, queue length.</summary>
    public void BringUp(string device, int mtu)
    {
        // Before "up": once the link is up the kernel sends an MLD report at once, which the IPv4-only
        // datapath would count as a malformed packet.
        DisableIpv6(device);
        // txqueuelen 2000 (TUN's default is 500): a TCP burst from an app queues here while the worker drains it;
        // at 500 the queue overflowed under one iperf3 stream (11,423 drops = 11,423 retransmits in 5 s on the
        // engine path), at 2000 nothing was dropped on either path and throughput held or rose (bench/run.sh path).
        // "qlen", not "txqueuelen": the guest image's busybox ip knows only the short form (iproute2 takes both).
        ip.Run("link", "set", "dev", device, "mtu", mtu.ToString(CultureInfo.InvariantCulture), "qlen", "2000", "up");
    }

    /// <summary>Writes the entity's rule, address, table and routes; throws on the first `ip` failure (the caller undoes).</summary>
    public void Apply(ApplicationEntity entity, LocalAppConfig config, GroupConfig group)
    {
        string dev = entity.Device;
        string table = entity.RouteTable.ToString(CultureInfo.InvariantCulture);
        string host = entity.Address + "/32";
        // Order matters to whoever waits for the app's address to appear: the rule and the main-table route
        // exist before the address does, so the first packet from (or to) the address already finds the adapter.
        // `ip rule add` is not idempotent: delete first so re-applying never stacks duplicate rules.
        DeleteRules(host, table);
        ip.Run("rule", "add", "from", host, "lookup", table, "priority", RulePriority);
        // R0.9 / claim 12: the VM's own routing table routes the group's space to the adapter, so an unmodified
        // client that does not bind its overlay address (busybox wget) still reaches its peers; the kernel then
        // picks one of the adapter's app addresses as source, which the receiver checks against this VM's apps.
        ip.Run("route", "replace", group.AddressSpace, "dev", dev);
        ip.Run("addr", "replace", host, "dev", dev);
        ip.TryRun("route", "flush", "table", table);
        if (config.Routes.Count == 0)
        {
            ip.Run("route", "replace", group.AddressSpace, "dev", dev, "table", table, "src", entity.Address);
        }
        foreach (RouteEntry route in config.Routes)
        {
            string metric = Math.Max(0, 1000 - route.Weight).ToString(CultureInfo.InvariantCulture);
            if (string.Equals(route.Gateway, "adapter", StringComparison.OrdinalIgnoreCase))
            {
                // Claim 12: the overlay route's gateway is the adapter itself.
                ip.Run("route", "replace", route.Destination, "dev", dev, "table", table, "metric", metric, "src", entity.Address);
                if (!string.Equals(route.Destination, group.AddressSpace, StringComparison.Ordinal))
                {
                    // A neighbor group's space (policy relates it to this group): reachable from non-binding clients too, as R0.9 does for the group's own space.
                    ip.Run("route", "replace", route.Destination, "dev", dev);
                }
            }
            else if (string.Equals(route.Gateway, "main", StringComparison.OrdinalIgnoreCase))
            {
                // Table 1's weight-1 default "via the VM's main table": a lookup that misses this table falls
                // through to the next rule, i.e. the main table, so no route is written for it.
                continue;
            }
            else
            {
                ip.Run("route", "replace", route.Destination, "via", route.Gateway, "table", table, "metric", metric);
            }
        }
    }

    /// <summary>Removes the entity's rule and address, and its table unless another live entity uses the same one. Never throws for what is already gone.</summary>
    public void Remove(ApplicationEntity entity, bool tableShared)
    {
        string table = entity.RouteTable.ToString(CultureInfo.InvariantCulture);
        string host = entity.Address + "/32";
        DeleteRules(host, table);
        if (!tableShared)
        {
            ip.TryRun("route", "flush", "table", table);
        }
        ip.TryRun("addr", "del", host, "dev", entity.Device);
    }

    private void DeleteRules(string host, string table)
    {
        while (ip.TryRun("rule", "del", "from", host, "lookup", table, "priority", RulePriority).ExitCode == 0)
        {
        }
    }

    private static void DisableIpv6(string device)
    {
        // The kernel would otherwise send router solicitations and MLD reports into the adapter: IPv4-only overlay.
        string path = $"/proc/sys/net/ipv6/conf/{device}/disable_ipv6";
        if (File.Exists(path))
        {
            File.WriteAllText(path, "1");
        }
    }
}
