using System.CommandLine;
using OverlayKvm.Core.Api;

namespace OverlayKvm.Cli.Commands;

/// <summary>directory-list: the directory's mappings. route-explain: the directory's path, actions, verdict and deciding policy for one flow (seed 002 R4).</summary>
internal static class RouteCommands
{
    public static IEnumerable<Command> Create(CliGlobals g)
    {
        var src = new Argument<string>("SRC") { Description = "sending app: overlay address or GROUP/APP" };
        var dst = new Argument<string>("DST") { Description = "receiving app: overlay address or GROUP/APP" };
        var proto = new Option<string>("--proto") { Description = "tcp, udp, icmp, any or a protocol number (default any)" };
        var port = new Option<int?>("--port") { Description = "destination port (tcp/udp)" };
        var explain = new Command("route-explain", "show how traffic from SRC to DST travels and which policy decides it") { src, dst, proto, port };
        explain.SetAction(g.Run(async (client, print, p, ct) =>
        {
            var query = $"v1/route?src={Uri.EscapeDataString(p.GetValue(src)!)}&dst={Uri.EscapeDataString(p.GetValue(dst)!)}";
            if (p.GetValue(proto) is { } pr) query += $"&proto={Uri.EscapeDataString(pr)}";
            if (p.GetValue(port) is { } po)
            {
                if (po is < 1 or > 65535) throw new Client.OverlayCtlException($"--port: {po} is not a port from 1 to 65535", Client.ExitCodes.Usage);
                query += $"&port={po}";
            }
            var v = await client.GetAsync(query, PolicyJsonContext.Default.RouteExplainView, ct);
            if (print.Json) { print.WriteJson(v, PolicyJsonContext.Default.RouteExplainView); return; }
            var hops = v.ForwardingPath.Count == 0 ? "" : ": " + string.Join(" -> ", v.ForwardingPath);
            print.WriteFields(
            [
                ("Source", Describe(v.Source)),
                ("Destination", Describe(v.Destination)),
                ("Flow", v.Port == 0 ? v.Protocol : $"{v.Protocol}/{v.Port}"),
                ("Path", v.Path + hops),
                ("Path chosen", v.PathReason),
                ("Hosts", HostsLine(v)),
                ("Actions", string.Join(", ", v.Actions)),
                ("Verdict", v.Verdict),
                ("Decided by", v.DecidedBy),
                ("Enforced by", v.EnforcedBy),
                ("Reason", v.Reason),
                ("Directory version", v.DirectoryVersion.ToString()),
            ]);
        }));
        yield return explain;

        var group = new Option<string>("--group") { Description = "only this group's apps" };
        var list = new Command("directory-list", "list the directory: each app's address, VM, host and VM address") { group };
        list.SetAction(g.Run(async (client, print, p, ct) =>
        {
            var path = p.GetValue(group) is { } name ? $"v1/directory?group={Uri.EscapeDataString(name)}" : "v1/directory";
            var v = await client.GetAsync(path, PolicyJsonContext.Default.DirectoryView, ct);
            if (print.Json) { print.WriteJson(v, PolicyJsonContext.Default.DirectoryView); return; }
            var rows = new List<string[]>();
            foreach (var e in v.Entries) rows.Add([e.Address, $"{e.Group}/{e.App}", e.Domain, e.Host, e.DomainAddress ?? "?"]);
            print.WriteTable(["Address", "App", "Domain", "Host", "VM address"], rows);
            print.WriteLine($"Directory version {v.Version}");
        }));
        yield return list;

        var reconcile = new Command("directory-reconcile", "reconcile the directory with libvirt's domains now: release engine slots of stopped domains, report domains missing on either side");
        reconcile.SetAction(g.Run(async (client, print, p, ct) =>
        {
            var v = await client.PostAsync("v1/directory/reconcile", PolicyJsonContext.Default.DirectoryReconciliation, ct);
            if (print.Json) { print.WriteJson(v, PolicyJsonContext.Default.DirectoryReconciliation); return; }
            static string List(IReadOnlyList<string> names) => names.Count == 0 ? "-" : string.Join(", ", names);
            print.WriteFields(
            [
                ("Libvirt", v.LibvirtReachable ? "reachable" : "not connected (nothing compared)"),
                ("Running", List(v.Running)),
                ("Stopped", List(v.Stopped)),
                ("Missing in libvirt", List(v.Missing)),
                ("Not in the directory", List(v.Unrecorded)),
                ("Engine slots released", v.SlotsReleased.ToString()),
            ]);
        }));
        yield return reconcile;
    }

    private static string Describe(RouteEndpointView e) =>
        $"{e.Group}/{e.App} {e.Address} on {e.Domain} (host {(e.Host.Length == 0 ? "?" : e.Host)}, VM address {e.DomainAddress ?? "?"})";

    // "hA" on one host, "hA -> hB (over the underlay)" between hosts, with a down destination host called out.
    private static string HostsLine(RouteExplainView v)
    {
        var line = v.Hosts.Count switch
        {
            0 => "-",
            1 => v.Hosts[0],
            _ => string.Join(" -> ", v.Hosts) + " (over the underlay)",
        };
        return v.DestinationReachable ? line : line + $"; host {v.Destination.Host} is down: unreachable";
    }
}
