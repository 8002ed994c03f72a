using System.CommandLine;
using System.Globalization;
using OverlayKvm.Cli.Output;
using OverlayKvm.Core.Api;
using OverlayKvm.Cli.Client;

namespace OverlayKvm.Cli.Commands;

/// <summary>rebalance, domain-pin, domain-unpin: automatic co-location of members that talk most (issue 15).</summary>
internal static class RebalanceCommands
{
    public static IEnumerable<Command> Create(CliGlobals g)
    {
        var dryRun = new Option<bool>("--dry-run") { Description = "print the proposed migrations; nothing moves" };
        var apply = new Option<bool>("--apply") { Description = "perform the proposed migrations, one at a time (bounded per hour by Rebalance:MaxMovesPerHour)" };
        var rebalance = new Command("rebalance", "move members that talk most across hosts onto one host, within capacity, never a pinned domain") { dryRun, apply };
        rebalance.Validators.Add(r =>
        {
            if (r.GetValue(dryRun) == r.GetValue(apply))
            {
                r.AddError("rebalance: give exactly one of --dry-run or --apply");
            }
        });
        rebalance.SetAction(g.Run(async (client, print, p, ct) =>
        {
            if (p.GetValue(dryRun))
            {
                RebalancePlanView plan = await client.GetAsync("v1/rebalance", RebalanceJsonContext.Default.RebalancePlanView, ct);
                if (print.Json) { print.WriteJson(plan, RebalanceJsonContext.Default.RebalancePlanView); return; }
                PrintPlan(print, plan);
                return;
            }
            RebalanceApplyView applied = await client.PostAsync("v1/rebalance/apply", RebalanceJsonContext.Default.RebalanceApplyView, ct);
            if (print.Json) { print.WriteJson(applied, RebalanceJsonContext.Default.RebalanceApplyView); }
            else { PrintApplied(print, applied); }
            foreach (var m in applied.Moves)
            {
                if (!m.Moved)
                {
                    throw new Client.OverlayCtlException($"migration of {m.Domain} from {m.From} to {m.To} failed: {m.Error}");
                }
            }
        }));
        yield return rebalance;

        foreach (var (verb, pin) in new[] { ("domain-pin", true), ("domain-unpin", false) })
        {
            var domain = new Argument<string>("DOMAIN") { Description = "domain name" };
            var command = new Command(verb, pin ? "keep the domain on its host: rebalance never moves it" : "let rebalance move the domain again") { domain };
            command.SetAction(g.Run(async (client, print, p, ct) =>
            {
                string path = ApiPaths.Domain(p.GetValue(domain)!, "pin");
                DomainPinView v = pin
                    ? await client.PutAsync(path, RebalanceJsonContext.Default.DomainPinView, ct)
                    : await client.DeleteAsync(path, RebalanceJsonContext.Default.DomainPinView, ct);
                print.ReplyLine(v, RebalanceJsonContext.Default.DomainPinView, $"Domain {v.Domain} {(v.Pinned ? "pinned" : "unpinned")}");
            }));
            yield return command;
        }
    }

    internal static void PrintPlan(Printer print, RebalancePlanView plan)
    {
        if (plan.Proposals.Count == 0)
        {
            print.WriteLine("No migration proposed.");
        }
        else
        {
            var rows = new List<string[]>();
            foreach (var m in plan.Proposals)
            {
                rows.Add([m.Domain, m.From, m.To, Rate(m.BytesPerSecond), Rate(m.LostBytesPerSecond), m.Reason]);
            }
            print.WriteTable(["Domain", "From", "To", "Sealed → engine (B/s)", "Engine → sealed (B/s)", "Reason"], rows);
        }
        if (plan.Pairs.Count > 0)
        {
            var rows = new List<string[]>();
            foreach (var p in plan.Pairs)
            {
                rows.Add([$"{p.A} ({p.HostA})", $"{p.B} ({p.HostB})", Rate(p.Sealed), Rate(p.Engine), p.CoLocatable ? "yes" : "no (no shared group with the engine on)"]);
            }
            print.WriteTable(["Member", "Peer", "Sealed (B/s)", "Engine (B/s)", "Co-locatable"], rows);
        }
        print.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Window {plan.WindowSeconds:0} s; moves left this hour: {plan.MovesLeftThisHour}"));
        foreach (var note in plan.Notes)
        {
            print.WriteLine($"note: {note}");
        }
    }

    private static void PrintApplied(Printer print, RebalanceApplyView applied)
    {
        if (applied.Moves.Count == 0)
        {
            PrintPlan(print, applied.Plan);
            return;
        }
        var rows = new List<string[]>();
        foreach (var m in applied.Moves)
        {
            rows.Add([m.Domain, m.From, m.To, Rate(m.BytesPerSecond), m.Moved ? "moved" : "FAILED", m.Seconds.ToString("0.0", CultureInfo.InvariantCulture), m.Error ?? ""]);
        }
        print.WriteTable(["Domain", "From", "To", "Sealed → engine (B/s)", "Result", "Seconds", "Error"], rows);
    }

    private static string Rate(double bytesPerSecond) => bytesPerSecond.ToString("0", CultureInfo.InvariantCulture);
}
