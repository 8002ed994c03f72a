using System.CommandLine;
using System.Text;
using OverlayKvm.Cli.Client;
using OverlayKvm.Core.Api;

namespace OverlayKvm.Cli.Commands;

/// <summary>
/// overlayctl's libvirt commands: domain-attach (equip a domain for a group) and domain-place (where a domain
/// should run, and why). Requests and replies are the contracts overlayd itself serves (core/Api).
/// </summary>
internal static class LibvirtCommands
{
    public static IEnumerable<Command> Create(CliGlobals g)
    {
        yield return CreateDomainAttachCommand(g);
        yield return CreateDomainPlaceCommand(g);
        yield return DomainMigrateCommand.Create(g);
        foreach (Command c in EngineMoveCommands.Create(g)) yield return c;
    }

    /// <summary>overlayctl domain-attach DOMAIN (--app GROUP/APP | --group GROUP [--app APP]).</summary>
    private static Command CreateDomainAttachCommand(CliGlobals g)
    {
        var domain = new Argument<string>("DOMAIN") { Description = "libvirt domain name" };
        var group = new Option<string?>("--group") { Description = "group the domain joins (its ivshmem region is added)" };
        var app = new Option<string?>("--app") { Description = "application that runs in the domain: APP with --group, or GROUP/APP" };
        var command = new Command("domain-attach", "Add OverlayKvm metadata and devices (ivshmem region, agent channel) to a domain's persistent definition")
        {
            domain, group, app,
        };
        command.SetAction(g.Run(async (client, print, p, ct) =>
        {
            string name = p.GetRequiredValue(domain);
            if (!TrySplitMembership(p.GetValue(group), p.GetValue(app), out string? gr, out string? a, out string? problem))
            {
                throw new OverlayCtlException($"domain-attach {name}: {problem}", ExitCodes.Usage);
            }
            AttachResponse reply = await client.PostAsync(ApiPaths.Domain(name, "attach"), new AttachRequest(gr, a),
                ApiJsonContext.Default.AttachRequest, ApiJsonContext.Default.AttachResponse, ct);
            print.Reply(reply, ApiJsonContext.Default.AttachResponse, FormatAttach(reply));
        }));
        return command;
    }

    /// <summary>overlayctl domain-place DOMAIN.</summary>
    private static Command CreateDomainPlaceCommand(CliGlobals g)
    {
        var domain = new Argument<string>("DOMAIN") { Description = "libvirt domain name" };
        var command = new Command("domain-place", "Show which host a domain should run on, and why (placement, R0.16)") { domain };
        command.SetAction(g.Run(async (client, print, p, ct) =>
        {
            string name = p.GetRequiredValue(domain);
            PlacementDecision reply = await client.GetAsync(ApiPaths.Domain(name, "placement"), ApiJsonContext.Default.PlacementDecision, ct);
            print.Reply(reply, ApiJsonContext.Default.PlacementDecision, FormatPlacement(reply));
        }));
        return command;
    }

    /// <summary>--group G --app A, or --app G/A, or --group G alone.</summary>
    internal static bool TrySplitMembership(string? group, string? app, out string? g, out string? a, out string? problem)
    {
        g = group;
        a = app;
        problem = null;
        if (app is not null && app.Contains('/', StringComparison.Ordinal))
        {
            string[] parts = app.Split('/');
            if (parts.Length != 2 || parts[0].Length == 0 || parts[1].Length == 0 || (group is not null && group != parts[0]))
            {
                problem = $"--app '{app}' must be GROUP/APP (and match --group when both are given)";
                return false;
            }
            (g, a) = (parts[0], parts[1]);
        }
        if (string.IsNullOrEmpty(g))
        {
            problem = "give --group GROUP or --app GROUP/APP";
            return false;
        }
        return true;
    }

    /// <summary>One line per device added; "already equipped" when nothing changed.</summary>
    internal static string FormatAttach(AttachResponse reply)
    {
        var sb = new StringBuilder();
        if (!reply.Changed)
        {
            sb.Append(reply.Domain).Append(": already equipped, nothing changed").AppendLine();
        }
        foreach (string added in reply.Added)
        {
            sb.Append("+ ").Append(added).AppendLine();
        }
        foreach (string present in reply.Present)
        {
            sb.Append("= ").Append(present).AppendLine();
        }
        if (reply.Changed && reply.Active)
        {
            sb.Append(reply.Domain).Append(" is running: the new devices take effect at its next start").AppendLine();
        }
        return sb.ToString();
    }

    /// <summary>"DOMAIN -> HOST: REASON" then one line per candidate host.</summary>
    internal static string FormatPlacement(PlacementDecision reply)
    {
        var sb = new StringBuilder();
        sb.Append(reply.Domain).Append(" -> ").Append(reply.Host ?? "no host").Append(": ").Append(reply.Reason).AppendLine();
        foreach (PlacementCandidate c in reply.Candidates)
        {
            sb.Append("  ").Append(c.Host)
              .Append(": ").Append(c.Used).Append('/').Append(c.Capacity).Append(" used, ")
              .Append(c.GroupMembers).Append(" group member(s)").AppendLine();
        }
        return sb.ToString();
    }
}
