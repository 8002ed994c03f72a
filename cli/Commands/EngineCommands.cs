using System.CommandLine;
using OverlayKvm.Core.Api;

namespace OverlayKvm.Cli.Commands;

/// <summary>engine-stat, engine-disable, engine-enable: the acceleration engine's registrations and switches.</summary>
internal static class EngineCommands
{
    public static IEnumerable<Command> Create(CliGlobals g)
    {
        var stat = new Command("engine-stat", "show the acceleration engine: registered addresses per group and slot, ring and hypercall counters");
        stat.SetAction(g.Run(async (client, print, p, ct) =>
        {
            EngineStat engine = await client.GetAsync("v1/engine/stat", ApiJsonContext.Default.EngineStat, ct);
            if (print.Json) { print.WriteJson(engine, ApiJsonContext.Default.EngineStat); return; }
            var groups = new List<string[]>();
            var slots = new List<string[]>();
            var rings = new List<string[]>();
            foreach (EngineGroupStat group in engine.Groups)
            {
                string enabled = group.Enabled ? "on" : "OFF";
                groups.Add([group.Group, enabled, group.RegionPath, group.Generation.ToString(), group.Slots.Count.ToString(), group.HeaderStatus]);
                foreach (EngineSlotStat s in group.Slots)
                    slots.Add([group.Group, enabled, s.Slot.ToString(), s.Domain, string.Join(' ', s.Addresses), s.Expired ? "expired" : "live"]);
                foreach (EngineRingStat r in group.Rings)
                    rings.Add([group.Group, $"{r.From} -> {r.To}", r.RecordsWritten.ToString(), r.BytesWritten.ToString(), r.RecordsRead.ToString(), r.Pending.ToString()]);
            }
            print.WriteTable(["Group", "Engine", "Region", "Generation", "Slots", "Header"], groups);
            if (slots.Count > 0) print.WriteTable(["Group", "Engine", "Slot", "Domain", "Addresses", "State"], slots);
            if (rings.Count > 0) print.WriteTable(["Group", "Ring", "Records out", "Bytes out", "Records in", "Pending"], rings);
            EngineCounterStat c = engine.Counters;
            print.WriteFields([
                ("registrations", c.Registrations.ToString()), ("registrationsRefused", c.RegistrationsRefused.ToString()),
                ("deregistrations", c.Deregistrations.ToString()), ("heartbeats", c.Heartbeats.ToString()),
                ("expirations", c.Expirations.ToString()), ("headerRepairs", c.HeaderRepairs.ToString()),
                ("slotRepairs", c.SlotRepairs.ToString()), ("controlRepairs", c.ControlRepairs.ToString()),
                ("queries", Flatten(c.Queries)),
            ]);
        }));
        yield return stat;

        foreach (var (verb, enable) in new[] { ("engine-disable", false), ("engine-enable", true) })
        {
            var group = new Argument<string>("GROUP") { Description = "group name" };
            var command = new Command(verb, enable
                ? "let the group's co-located members use the shared-memory back channel again"
                : "send the group's traffic over the sealed network path instead of the back channel") { group };
            command.SetAction(g.Run(async (client, print, p, ct) =>
            {
                var name = p.GetValue(group)!;
                EngineSwitchResponse answer = await client.PostAsync($"v1/engine/groups/{Uri.EscapeDataString(name)}/{(enable ? "enable" : "disable")}",
                    ApiJsonContext.Default.EngineSwitchResponse, ct);
                print.ReplyLine(answer, ApiJsonContext.Default.EngineSwitchResponse, $"Engine for group {name}: {(enable ? "enabled" : "disabled")} ({answer.Status})");
            }));
            yield return command;
        }
    }

    private static string Flatten(IReadOnlyDictionary<string, long> values)
    {
        var parts = new List<string>();
        foreach (var (name, value) in values) parts.Add($"{name}={value}");
        return parts.Count == 0 ? "-" : string.Join(", ", parts);
    }
}
