using System.CommandLine;
using OverlayKvm.Core.Api;

namespace OverlayKvm.Cli.Commands;

/// <summary>app-define, app-list, app-info, app-undefine.</summary>
internal static class AppCommands
{
    public static IEnumerable<Command> Create(CliGlobals g)
    {
        var group = new Argument<string>("GROUP") { Description = "the app's group" };
        var name = new Argument<string>("APP") { Description = "app name, unique in its group" };
        var domain = new Option<string>("--domain") { Description = "the VM (libvirt domain) the app runs in", Required = true };
        var address = new Option<string>("--address") { Description = "overlay address (default: the next free one of the group)" };
        var objects = new Option<string[]>("--object")
        {
            Description = "a data object of the deployment manifest: NAME=SOURCE[#SHA256] (repeatable)",
            AllowMultipleArgumentsPerToken = false,
        };
        var define = new Command("app-define", "define an application of a group, with its overlay address and VM") { group, name, domain, address, objects };
        define.SetAction(g.Run(async (client, print, p, ct) =>
        {
            var manifest = new List<DataObjectView>();
            foreach (var o in p.GetValue(objects) ?? []) manifest.Add(ParseObject(o));
            var view = await client.PostAsync("v1/apps",
                new AppDefineRequest(p.GetValue(group)!, p.GetValue(name)!, p.GetValue(domain)!, p.GetValue(address), manifest),
                ApiJsonContext.Default.AppDefineRequest, ApiJsonContext.Default.AppView, ct);
            print.ReplyLine(view, ApiJsonContext.Default.AppView, $"App {view.Group}/{view.Name} defined: {view.Address} on {view.Domain} (version {view.Version})");
        }));
        yield return define;

        var filter = new Option<string>("--group") { Description = "only this group's apps" };
        var list = new Command("app-list", "list applications") { filter };
        list.SetAction(g.Run(async (client, print, p, ct) =>
        {
            var path = p.GetValue(filter) is { } f ? $"v1/apps?group={Uri.EscapeDataString(f)}" : "v1/apps";
            var apps = await client.GetAsync(path, ApiJsonContext.Default.ListAppView, ct);
            if (print.Json) { print.WriteJson(apps, ApiJsonContext.Default.ListAppView); return; }
            var rows = new List<string[]>();
            foreach (var a in apps) rows.Add([a.Group, a.Name, a.Address, a.Domain, a.Version.ToString()]);
            print.WriteTable(["Group", "App", "Address", "Domain", "Version"], rows);
        }));
        yield return list;

        var infoGroup = new Argument<string>("GROUP");
        var infoName = new Argument<string>("APP");
        var info = new Command("app-info", "show one application and its deployment manifest") { infoGroup, infoName };
        info.SetAction(g.Run(async (client, print, p, ct) =>
        {
            var a = await client.GetAsync($"v1/apps/{Uri.EscapeDataString(p.GetValue(infoGroup)!)}/{Uri.EscapeDataString(p.GetValue(infoName)!)}",
                ApiJsonContext.Default.AppView, ct);
            if (print.Json) { print.WriteJson(a, ApiJsonContext.Default.AppView); return; }
            var fields = new List<(string, string)> { ("App", $"{a.Group}/{a.Name}"), ("Address", a.Address), ("Domain", a.Domain), ("Version", a.Version.ToString()) };
            foreach (var o in a.Manifest) fields.Add(("Data object", o.Sha256 is null ? $"{o.Name} <- {o.Source}" : $"{o.Name} <- {o.Source} (sha256 {o.Sha256})"));
            print.WriteFields(fields);
        }));
        yield return info;

        var undefineGroup = new Argument<string>("GROUP");
        var undefineName = new Argument<string>("APP");
        var undefine = new Command("app-undefine", "remove an application") { undefineGroup, undefineName };
        undefine.SetAction(g.Run(async (client, print, p, ct) =>
        {
            var (gr, n) = (p.GetValue(undefineGroup)!, p.GetValue(undefineName)!);
            await client.DeleteAsync($"v1/apps/{Uri.EscapeDataString(gr)}/{Uri.EscapeDataString(n)}", ct);
            print.WriteLine($"App {gr}/{n} undefined");
        }));
        yield return undefine;
    }

    /// <summary>NAME=SOURCE[#SHA256]</summary>
    internal static DataObjectView ParseObject(string text)
    {
        int eq = text.IndexOf('=');
        if (eq <= 0 || eq == text.Length - 1)
            throw new Client.OverlayCtlException($"--object: '{text}' is not NAME=SOURCE[#SHA256]", Client.ExitCodes.Usage);
        var source = text[(eq + 1)..];
        string? sha = null;
        int hash = source.LastIndexOf('#');
        if (hash >= 0)
        {
            sha = source[(hash + 1)..];
            source = source[..hash];
            if (sha.Length != 64 || !sha.All(Uri.IsHexDigit))
                throw new Client.OverlayCtlException($"--object: '{sha}' is not a SHA-256 digest (64 hex digits)", Client.ExitCodes.Usage);
        }
        return new DataObjectView(text[..eq], source, sha?.ToLowerInvariant());
    }
}
