using System.CommandLine;
using System.Globalization;
using OverlayKvm.Core.Api;
using OverlayKvm.Cli.Output;
using OverlayKvm.Cli.Client;

namespace OverlayKvm.Cli.Commands;

/// <summary>
/// <c>overlayctl domain-stat DOMAIN [--json]</c> (R0.10): the domain's agent counters, asked over its host channel
/// now: per group and path (local, engine, sealed) in and out, drops by reason, transmission manager, engine
/// fallbacks, adapters, bytes per peer VM (engine and sealed). The same numbers as <c>overlay-agent stat</c> inside the VM. Exit 1 with the reason when the
/// agent cannot answer (overlayd answers 503), 4 for an unknown domain.
/// </summary>
internal static class DomainStatCommand
{
    public static Command Create(CliGlobals g)
    {
        var name = new Argument<string>("DOMAIN") { Description = "libvirt domain name" };
        var stat = new Command("domain-stat", "show a domain's agent counters: per group and path, drops by reason, transmission, adapters") { name };
        stat.SetAction(g.Run(async (client, print, p, ct) =>
        {
            var counters = await client.GetAsync(ApiPaths.Domain(p.GetValue(name)!, "stat"), ApiJsonContext.Default.AgentCounters, ct);
            if (print.Json)
            {
                print.WriteJson(counters, ApiJsonContext.Default.AgentCounters);
                return;
            }
            Write(print, counters);
        }));
        return stat;
    }

    private static void Write(Printer print, AgentCounters c)
    {
        var inv = CultureInfo.InvariantCulture;
        print.WriteLine($"domain {c.Domain}  configuration version {c.ConfigVersion?.ToString(inv) ?? "-"}");
        var rows = new List<string[]>();
        foreach (AgentGroupCounters g in c.Groups)
        {
            foreach (var (path, x) in new[] { ("local", g.Local), ("engine", g.Engine), ("sealed", g.Sealed), ("clear", g.Clear) })
            {
                rows.Add([g.Group, path, N(x.PacketsIn), N(x.BytesIn), N(x.PacketsOut), N(x.BytesOut), path == "sealed" ? g.SendEpoch?.ToString(inv) ?? "-" : ""]);
            }
        }
        print.WriteTable(["Group", "Path", "Pkts in", "Bytes in", "Pkts out", "Bytes out", "Epoch"], rows);
        if (c.Peers.Count > 0)
        {
            var peers = new List<string[]>();
            foreach (AgentPeerCounters x in c.Peers)
            {
                peers.Add([x.Domain, N(x.Engine.BytesIn), N(x.Engine.BytesOut), N(x.Sealed.BytesIn), N(x.Sealed.BytesOut)]);
            }
            print.WriteTable(["Peer VM", "Engine bytes in", "Engine bytes out", "Sealed bytes in", "Sealed bytes out"], peers);
        }
        print.WriteLine("drops: " + Pairs(c.Drops));
        if (c.Transmission is { } t)
        {
            print.WriteLine($"transmission: policies={t.Policies} egress-rules={t.EgressRules} ingress-rules={t.IngressRules} pending={t.Pending} {Pairs(t.Counters)}");
        }
        if (c.Engine is { } e)
        {
            print.WriteLine($"engine fallbacks: {Pairs(e.Fallbacks)} ring-drops={N(e.RingDrops)}");
        }
        foreach (AgentAdapterCounters a in c.Adapters)
        {
            print.WriteLine($"adapter {a.Device} group {a.Group} count {a.Count} apps {string.Join(',', a.Apps)}");
        }
    }

    private static string N(long n) => n.ToString(CultureInfo.InvariantCulture);

    private static string Pairs(IReadOnlyDictionary<string, long> counters)
    {
        var parts = new List<string>(counters.Count);
        foreach (var (k, v) in counters.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            parts.Add($"{k}={N(v)}");
        }
        return string.Join(' ', parts);
    }
}
