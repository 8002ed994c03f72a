using System.Globalization;
using System.Text;
using System.Text.Json;
using OverlayKvm.GuestAgent.Control;

namespace OverlayKvm.GuestAgent.Cli;

/// <summary>`overlay-agent rules [--json]`: the transmission manager's rule sets (seed 004 R4.8: the rules at each end).</summary>
internal static class RulesCommand
{
    public static async Task<int> RunAsync(ParsedOptions options)
    {
        if (await ControlQuery.AskAsync(options, "rules", r => r.Rules is not null).ConfigureAwait(false) is not { Rules: { } rules })
        {
            return AgentCommandLine.ExitFailed;
        }
        Console.Out.WriteLine(options.Has("json") ? JsonSerializer.Serialize(rules, AgentJsonContext.Default.IReadOnlyListRuleView) : Format(rules));
        return AgentCommandLine.ExitOk;
    }

    internal static string Format(IReadOnlyList<RuleView> rules)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine(inv, $"{"direction",-9} {"source",-15} {"destination",-15} {"proto",-5} {"port",5} {"verdict",-7} {"origin",-10} {"expires",8}  reason");
        foreach (RuleView v in rules)
        {
            sb.AppendLine(inv, $"{v.Direction,-9} {v.Source,-15} {v.Destination,-15} {v.Protocol,-5} {v.Port,5} {v.Verdict,-7} {v.Origin,-10} {v.ExpiresInMs / 1000.0,7:0.0}s  {v.Reason}");
        }
        return sb.ToString().TrimEnd();
    }
}
