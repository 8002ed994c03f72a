using System.Globalization;
using System.Text;
using System.Text.Json;
using OverlayKvm.GuestAgent.Control;

namespace OverlayKvm.GuestAgent.Cli;

/// <summary>`overlay-agent stat [--json]`: per-group, per-path counters, drops by reason, adapters (R0.10).</summary>
internal static class StatCommand
{
    public static async Task<int> RunAsync(ParsedOptions options)
    {
        if (await ControlQuery.AskAsync(options, "stat", r => r.Stat is not null).ConfigureAwait(false) is not { Stat: { } stat })
        {
            return AgentCommandLine.ExitFailed;
        }
        Console.Out.WriteLine(options.Has("json")
            ? JsonSerializer.Serialize(stat, AgentJsonContext.Default.StatReport)
            : Format(stat));
        return AgentCommandLine.ExitOk;
    }

    internal static string Format(StatReport s)
    {
        var sb = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        sb.AppendLine(inv, $"domain {s.Domain ?? "(no configuration yet)"}  configuration version {s.ConfigVersion?.ToString(inv) ?? "-"}");
        sb.AppendLine(inv, $"{"group",-16} {"path",-7} {"pkts in",12} {"bytes in",14} {"pkts out",12} {"bytes out",14} {"epoch",6}");
        foreach (GroupStat g in s.Groups)
        {
            Row(sb, g.Group, "local", g.Local, "");
            Row(sb, g.Group, "engine", g.Engine, "");
            Row(sb, g.Group, "sealed", g.Sealed, g.SendEpoch?.ToString(inv) ?? "-");
            Row(sb, g.Group, "clear", g.Clear, "");
        }
        sb.Append("drops:");
        foreach (var (reason, count) in s.Drops)
        {
            sb.Append(inv, $" {reason}={count}");
        }
        sb.AppendLine();
        if (s.Engine is { } e)
        {
            foreach (EngineGroupAttachment a in e.Attached)
            {
                sb.AppendLine(inv, $"engine group {a.Group} region {a.Region} slot {a.Slot} generation {a.Generation} {(a.Enabled ? "enabled" : "disabled")} cached-answers {a.CachedRoutes}");
                if (a.Doorbell is { } d)
                {
                    sb.AppendLine(inv, $"  doorbell {(d.FutexUsable ? "futex" : "timed sleeps")}: waits {d.Waits} woken {d.Woken} timed-out {d.TimedOut} changed {d.Changed}; wakes sent {d.WakesSent}");
                }
            }
            sb.Append("engine fallbacks:");
            foreach (var (reason, count) in e.Fallbacks)
            {
                sb.Append(inv, $" {reason}={count}");
            }
            sb.AppendLine(inv, $" ring-drops={e.RingDrops}");
        }
        if (s.Transmission is { } t)
        {
            sb.Append(inv, $"transmission: policies={t.Policies} egress-rules={t.EgressRules} ingress-rules={t.IngressRules} pending={t.Pending}");
            foreach (var (name, count) in t.Counters)
            {
                sb.Append(inv, $" {name}={count}");
            }
            sb.AppendLine();
        }
        foreach (AdapterStat a in s.Adapters)
        {
            sb.AppendLine(inv, $"adapter {a.Device} group {a.Group} count {a.Count} apps {string.Join(',', a.Apps)}");
        }
        return sb.ToString().TrimEnd();
    }

    private static void Row(StringBuilder sb, string group, string path, PathStat p, string epoch) =>
        sb.AppendLine(CultureInfo.InvariantCulture, $"{group,-16} {path,-7} {p.PacketsIn,12} {p.BytesIn,14} {p.PacketsOut,12} {p.BytesOut,14} {epoch,6}");
}
