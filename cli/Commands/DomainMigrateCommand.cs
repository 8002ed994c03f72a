using System.CommandLine;
using System.Globalization;
using System.Text;
using OverlayKvm.Cli.Client;
using OverlayKvm.Core.Api;

namespace OverlayKvm.Cli.Commands;

/// <summary>
/// overlayctl domain-migrate DOMAIN --to HOST [--force]: asks the overlayd of the domain's host to move it live
/// to another host of the cluster, engine regions included (docs/migration.md). Exit codes as for every command:
/// 4 unknown domain or host, 1 refused (not on this host, destination down, agent did not confirm, libvirt failed).
/// </summary>
internal static class DomainMigrateCommand
{
    public static Command Create(CliGlobals g)
    {
        var domain = new Argument<string>("DOMAIN") { Description = "libvirt domain name (running on the host of the overlayd asked)" };
        var to = new Option<string>("--to") { Description = "destination host (its name in the cluster inventory)", Required = true };
        var force = new Option<bool>("--force")
        {
            Description = "unplug the engine regions even if the agent did not confirm it unmapped them (an agent that still maps one dies of SIGBUS)",
        };
        var command = new Command("domain-migrate", "Live-migrate a domain to another host; its overlay and engine regions follow") { domain, to, force };
        command.SetAction(g.Run(async (client, print, p, ct) =>
        {
            string name = p.GetRequiredValue(domain);
            string host = p.GetRequiredValue(to);
            if (host.Length == 0)
            {
                throw new OverlayCtlException($"domain-migrate {name}: --to needs a host name", ExitCodes.Usage);
            }
            MigrateResponse reply = await client.PostAsync(ApiPaths.Domain(name, "migrate"), new MigrateRequest(host, p.GetValue(force)),
                ApiJsonContext.Default.MigrateRequest, ApiJsonContext.Default.MigrateResponse, ct);
            print.Reply(reply, ApiJsonContext.Default.MigrateResponse, Format(reply));
        }));
        return command;
    }

    /// <summary>One line for the move, one per step with its time.</summary>
    internal static string Format(MigrateResponse r)
    {
        var sb = new StringBuilder();
        var c = CultureInfo.InvariantCulture;
        sb.Append(c, $"{r.Domain}: migrated from {r.From} to {r.To}").AppendLine();
        sb.Append(c, $"  agent left the engine: {(r.AgentLeft ? $"yes, {r.RegionsUnmapped} region(s) unmapped" : "no confirmation (--force)")} in {r.LeaveSeconds:0.###} s").AppendLine();
        sb.Append(c, $"  region devices unplugged: {(r.RegionsUnplugged.Count == 0 ? "none" : string.Join(", ", r.RegionsUnplugged))} in {r.UnplugSeconds:0.###} s").AppendLine();
        sb.Append(c, $"  live migration: {r.MigrateSeconds:0.###} s").AppendLine();
        return sb.ToString();
    }
}
