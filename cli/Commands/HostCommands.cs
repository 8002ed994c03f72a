using System.CommandLine;
using OverlayKvm.Core.Api;

namespace OverlayKvm.Cli.Commands;

/// <summary>host-list: the cluster's hosts, alive or down, their domains and free capacity.</summary>
internal static class HostCommands
{
    public static IEnumerable<Command> Create(CliGlobals g)
    {
        var list = new Command("host-list", "list the hosts: alive or down (lease), underlay address, domains, free capacity");
        list.SetAction(g.Run(async (client, print, p, ct) =>
        {
            var hosts = await client.GetAsync("v1/hosts", ApiJsonContext.Default.ListHostView, ct);
            if (print.Json) { print.WriteJson(hosts, ApiJsonContext.Default.ListHostView); return; }
            var rows = new List<string[]>();
            foreach (var h in hosts)
                rows.Add([h.Name, h.Alive ? "alive" : "down", h.Address, h.Domains.Count == 0 ? "-" : string.Join(",", h.Domains), $"{h.FreeCapacity}/{h.Capacity}"]);
            print.WriteTable(["Host", "State", "Underlay", "Domains", "Free"], rows);
        }));
        yield return list;
    }
}
