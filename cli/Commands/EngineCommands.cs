using System.CommandLine;
using System.Text.Json;

namespace OverlayKvm.Cli.Commands;

/// <summary>engine-stat, engine-disable, engine-enable: the acceleration engine's registrations and switches.</summary>
internal static class EngineCommands
{
    public static IEnumerable<Command> Create(CliGlobals g)
    {
        var stat = new Command("engine-stat", "show the acceleration engine: registered addresses per group and slot, ring and hypercall counters");
        stat.SetAction(g.Run(async (client, print, p, ct) =>
        {
            var json = await client.GetRawAsync("v1/engine/stat", ct);
            if (print.Json) { print.WriteLine(json); return; }
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            var groups = new List<string[]>();
            var slots = new List<string[]>();
            var rings = new List<string[]>();
            foreach (var group in root.GetProperty("groups").EnumerateArray())
            {
                var name = group.GetProperty("group").GetString() ?? "?";
                var enabled = group.GetProperty("enabled").GetBoolean() ? "on" : "OFF";
                groups.Add([name, enabled, group.GetProperty("regionPath").GetString() ?? "", group.GetProperty("generation").ToString(),
                    group.GetProperty("slots").GetArrayLength().ToString(), group.GetProperty("headerStatus").GetString() ?? ""]);
                foreach (var s in group.GetProperty("slots").EnumerateArray())
                {
                    var addresses = new List<string>();
                    foreach (var a in s.GetProperty("addresses").EnumerateArray()) addresses.Add(a.GetString() ?? "");
                    slots.Add([name, enabled, s.GetProperty("slot").ToString(), s.GetProperty("domain").GetString() ?? "",
                        string.Join(' ', addresses), s.GetProperty("expired").GetBoolean() ? "expired" : "live"]);
                }
                foreach (var r in group.GetProperty("rings").EnumerateArray())
                    rings.Add([name, $"{r.GetProperty("from")} -> {r.GetProperty("to")}", r.GetProperty("recordsWritten").ToString(),
                        r.GetProperty("bytesWritten").ToString(), r.GetProperty("recordsRead").ToString(), r.GetProperty("pending").ToString()]);
            }
            print.WriteTable(["Group", "Engine", "Region", "Generation", "Slots", "Header"], groups);
            if (slots.Count > 0) print.WriteTable(["Group", "Engine", "Slot", "Domain", "Addresses", "State"], slots);
            if (rings.Count > 0) print.WriteTable(["Group", "Ring", "Records out", "Bytes out", "Records in", "Pending"], rings);
            var counters = new List<(string, string)>();
            foreach (var c in root.GetProperty("counters").EnumerateObject())
                counters.Add((c.Name, c.Value.ValueKind == JsonValueKind.Object ? Flatten(c.Value) : c.Value.ToString()));
            print.WriteFields(counters);
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
                using var answer = JsonDocument.Parse(await client.PostRawAsync($"v1/engine/groups/{Uri.EscapeDataString(name)}/{(enable ? "enable" : "disable")}", ct));
                if (print.Json) print.WriteLine(answer.RootElement.GetRawText());
                else print.WriteLine($"Engine for group {name}: {(enable ? "enabled" : "disabled")} ({answer.RootElement.GetProperty("status").GetString()})");
            }));
            yield return command;
        }
    }

    private static string Flatten(JsonElement obj)
    {
        var parts = new List<string>();
        foreach (var p in obj.EnumerateObject()) parts.Add($"{p.Name}={p.Value}");
        return parts.Count == 0 ? "-" : string.Join(", ", parts);
    }
}
