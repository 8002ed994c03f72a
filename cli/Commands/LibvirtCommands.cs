using System.CommandLine;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace OverlayKvm.Cli.Commands;

/// <summary>
/// overlayctl's libvirt commands: domain-attach (equip a domain for a group) and domain-place (where a domain
/// should run, and why). Self-contained: the host program passes how to reach overlayd and its --json option.
/// Replies are read with JsonDocument (no reflection: AOT-clean).
/// </summary>
internal static class LibvirtCommands
{
    /// <summary>overlayctl domain-attach DOMAIN (--app GROUP/APP | --group GROUP [--app APP]).</summary>
    public static Command CreateDomainAttachCommand(Func<ParseResult, HttpClient> client, Option<bool> json)
    {
        var domain = new Argument<string>("DOMAIN") { Description = "libvirt domain name" };
        var group = new Option<string?>("--group") { Description = "group the domain joins (its ivshmem region is added)" };
        var app = new Option<string?>("--app") { Description = "application that runs in the domain: APP with --group, or GROUP/APP" };
        var command = new Command("domain-attach", "Add OverlayKvm metadata and devices (ivshmem region, agent channel) to a domain's persistent definition")
        {
            domain, group, app,
        };
        command.SetAction(async (parse, ct) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            string name = parse.GetRequiredValue(domain);
            if (!TrySplitMembership(parse.GetValue(group), parse.GetValue(app), out string? g, out string? a, out string? problem))
            {
                await error.WriteLineAsync($"overlayctl: domain-attach {name}: {problem}");
                return 2;
            }
            using var body = JsonBody(w =>
            {
                w.WriteString("group", g);
                if (a is null)
                {
                    w.WriteNull("app");
                }
                else
                {
                    w.WriteString("app", a);
                }
            });
            return await SendAsync(client(parse), HttpMethod.Post, $"/v1/domains/{Uri.EscapeDataString(name)}/attach", body, parse.GetValue(json), FormatAttach, output, error, ct);
        });
        return command;
    }

    /// <summary>overlayctl domain-place DOMAIN.</summary>
    public static Command CreateDomainPlaceCommand(Func<ParseResult, HttpClient> client, Option<bool> json)
    {
        var domain = new Argument<string>("DOMAIN") { Description = "libvirt domain name" };
        var command = new Command("domain-place", "Show which host a domain should run on, and why (placement, R0.16)") { domain };
        command.SetAction(async (parse, ct) =>
        {
            string name = parse.GetRequiredValue(domain);
            return await SendAsync(client(parse), HttpMethod.Get, $"/v1/domains/{Uri.EscapeDataString(name)}/placement", null, parse.GetValue(json),
                FormatPlacement, parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error, ct);
        });
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
    internal static string FormatAttach(JsonElement reply)
    {
        var sb = new StringBuilder();
        string domain = reply.GetProperty("domain").GetString() ?? "?";
        if (!reply.GetProperty("changed").GetBoolean())
        {
            sb.Append(domain).Append(": already equipped, nothing changed").AppendLine();
        }
        foreach (var added in reply.GetProperty("added").EnumerateArray())
        {
            sb.Append("+ ").Append(added.GetString()).AppendLine();
        }
        foreach (var present in reply.GetProperty("present").EnumerateArray())
        {
            sb.Append("= ").Append(present.GetString()).AppendLine();
        }
        if (reply.GetProperty("changed").GetBoolean() && reply.GetProperty("active").GetBoolean())
        {
            sb.Append(domain).Append(" is running: the new devices take effect at its next start").AppendLine();
        }
        return sb.ToString();
    }

    /// <summary>"DOMAIN -> HOST: REASON" then one line per candidate host.</summary>
    internal static string FormatPlacement(JsonElement reply)
    {
        var sb = new StringBuilder();
        string domain = reply.GetProperty("domain").GetString() ?? "?";
        string? host = reply.GetProperty("host").GetString();
        sb.Append(domain).Append(" -> ").Append(host ?? "no host").Append(": ").Append(reply.GetProperty("reason").GetString()).AppendLine();
        foreach (var c in reply.GetProperty("candidates").EnumerateArray())
        {
            sb.Append("  ").Append(c.GetProperty("host").GetString())
              .Append(": ").Append(c.GetProperty("used").GetInt32()).Append('/').Append(c.GetProperty("capacity").GetInt32()).Append(" used, ")
              .Append(c.GetProperty("groupMembers").GetInt32()).Append(" group member(s)").AppendLine();
        }
        return sb.ToString();
    }

    // Same request path and error mapping as every other overlayctl command (one stderr line, exit 1/3/4).
    private static async Task<int> SendAsync(HttpClient client, HttpMethod method, string path, HttpContent? body, bool json,
        Func<JsonElement, string> format, TextWriter output, TextWriter error, CancellationToken ct)
    {
        using var api = new Client.OverlayApiClient(client, client.BaseAddress?.ToString() ?? "overlayd", ownsHttp: false);
        string text;
        try
        {
            text = await api.SendRawAsync(method, path, body, ct);
        }
        catch (Client.OverlayCtlException ex)
        {
            await error.WriteLineAsync($"overlayctl: {ex.Message}");
            return ex.ExitCode;
        }
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(text);
        }
        catch (JsonException)
        {
            await error.WriteLineAsync($"overlayctl: overlayd answered with a body that is not JSON: {text}");
            return Client.ExitCodes.Refused;
        }
        using (doc)
        {
            await output.WriteAsync(json ? text + Environment.NewLine : format(doc.RootElement));
            return Client.ExitCodes.Ok;
        }
    }

    private static StringContent JsonBody(Action<Utf8JsonWriter> write)
    {
        var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            write(writer);
            writer.WriteEndObject();
        }
        var content = new StringContent(Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length), Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        return content;
    }
}
