using System.CommandLine;
using OverlayKvm.Core.Api;
using OverlayKvm.Cli.Client;

namespace OverlayKvm.Cli.Commands;

/// <summary>domain-define, domain-list, domain-config.</summary>
internal static class DomainCommands
{
    public static IEnumerable<Command> Create(CliGlobals g)
    {
        var name = new Argument<string>("DOMAIN") { Description = "libvirt domain name" };
        var address = new Option<string>("--address") { Description = "the VM's own (underlay) address (default: learned from libvirt once it runs)" };
        var host = new Option<string>("--host") { Description = "the host it runs on (default: this host)" };
        var define = new Command("domain-define", "declare a VM: its underlay address and host") { name, address, host };
        define.SetAction(g.Run(async (client, print, p, ct) =>
        {
            var v = await client.PostAsync("v1/domains", new DomainDefineRequest(p.GetValue(name)!, p.GetValue(address), p.GetValue(host)),
                ApiJsonContext.Default.DomainDefineRequest, ApiJsonContext.Default.DomainView, ct);
            print.ReplyLine(v, ApiJsonContext.Default.DomainView, $"Domain {v.Name}: address {v.Address ?? "-"}, host {v.Host} (version {v.Version})");
        }));
        yield return define;

        var list = new Command("domain-list", "list the VMs OverlayKvm knows");
        list.SetAction(g.Run(async (client, print, p, ct) =>
        {
            var domains = await client.GetAsync("v1/domains", ApiJsonContext.Default.ListDomainView, ct);
            if (print.Json) { print.WriteJson(domains, ApiJsonContext.Default.ListDomainView); return; }
            var rows = new List<string[]>();
            foreach (var d in domains) rows.Add([d.Name, d.Address ?? "-", d.Address is null ? "-" : d.AddressSource, d.Host, d.Uuid ?? "-", d.Version.ToString()]);
            print.WriteTable(["Domain", "Address", "From", "Host", "UUID", "Version"], rows);
        }));
        yield return list;

        var configName = new Argument<string>("DOMAIN") { Description = "libvirt domain name" };
        var secrets = new Option<bool>("--show-secrets") { Description = "include the group keys (redacted otherwise)" };
        var config = new Command("domain-config", "show the configuration document the domain's agent receives") { configName, secrets };
        config.SetAction(g.Run(async (client, print, p, ct) =>
        {
            var path = ApiPaths.Domain(p.GetValue(configName)!, "config") + (p.GetValue(secrets) ? "?secrets=true" : "");
            var doc = await client.GetAsync(path, ApiJsonContext.Default.DomainConfigDocument, ct);
            // The document is structured data in both modes: always JSON.
            print.WriteJson(doc, ApiJsonContext.Default.DomainConfigDocument);
        }));
        yield return config;

        var channels = new Command("channel-list", "show each local domain's agent channel: connected, configuration version applied");
        channels.SetAction(g.Run(async (client, print, p, ct) =>
        {
            var list = await client.GetAsync("v1/channels", ApiJsonContext.Default.ListChannelView, ct);
            if (print.Json) { print.WriteJson(list, ApiJsonContext.Default.ListChannelView); return; }
            var rows = new List<string[]>();
            foreach (var c in list)
                rows.Add([c.Domain, c.Connected ? "connected" : "waiting", c.AcknowledgedVersion < 0 ? "-" : c.AcknowledgedVersion.ToString(), c.RejectedMessages.ToString(), c.Socket]);
            print.WriteTable(["Domain", "Agent", "Config applied", "Rejected msgs", "Socket"], rows);
        }));
        yield return channels;
    }
}
