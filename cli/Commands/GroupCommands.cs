using System.CommandLine;
using OverlayKvm.Core.Api;
using OverlayKvm.Core.Model;

namespace OverlayKvm.Cli.Commands;

/// <summary>group-define, group-list, group-info, group-undefine, credentials-rotate.</summary>
internal static class GroupCommands
{
    public static IEnumerable<Command> Create(CliGlobals g)
    {
        var name = new Argument<string>("GROUP") { Description = "group name" };
        var cidr = new Option<string>("--cidr") { Description = "the group's address space, e.g. 10.1.0.0/16", Required = true };
        var protection = new Option<string>("--protection") { Description = "sealed (default) or authenticated" };
        // Fixed for the group's life: agents never negotiate it, and changing it under running members would drop their traffic.
        var cipher = new Option<string>("--cipher")
        {
            Description = "AEAD sealing the group's frames: chacha20-poly1305 (default) or aegis-256 (needs AES-NI; 32-byte tag, adapter MTU 16 bytes smaller); fixed for the group's life",
        };
        // Not AcceptOnlyFromAmong: its message spans lines, and overlayctl's usage errors are one line.
        cipher.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<string>() is { } text && !GroupCiphers.TryParse(text, out _))
            {
                r.AddError($"--cipher: '{text}' is not one of {GroupCiphers.Known}");
            }
        });
        var define = new Command("group-define", "define an application group and its address space") { name, cidr, protection, cipher };
        define.SetAction(g.Run(async (client, print, p, ct) =>
        {
            var view = await client.PostAsync("v1/groups", new GroupDefineRequest(p.GetValue(name)!, p.GetValue(cidr)!, p.GetValue(protection), p.GetValue(cipher)),
                ApiJsonContext.Default.GroupDefineRequest, ApiJsonContext.Default.GroupView, ct);
            print.ReplyLine(view, ApiJsonContext.Default.GroupView, $"Group {view.Name} defined: {view.Cidr}, {view.Protection}, {view.Cipher}, key epoch {LastEpoch(view)} (version {view.Version})");
        }));
        yield return define;

        var list = new Command("group-list", "list application groups");
        list.SetAction(g.Run(async (client, print, p, ct) =>
        {
            var groups = await client.GetAsync("v1/groups", ApiJsonContext.Default.ListGroupView, ct);
            if (print.Json) { print.WriteJson(groups, ApiJsonContext.Default.ListGroupView); return; }
            var rows = new List<string[]>();
            foreach (var v in groups) rows.Add([v.Name, v.Cidr, v.Protection, v.Cipher, v.Applications.ToString(), LastEpoch(v), v.Version.ToString()]);
            print.WriteTable(["Name", "Address space", "Protection", "Cipher", "Apps", "Key epoch", "Version"], rows);
        }));
        yield return list;

        var infoName = new Argument<string>("GROUP") { Description = "group name" };
        var info = new Command("group-info", "show one group with its key epochs") { infoName };
        info.SetAction(g.Run(async (client, print, p, ct) =>
        {
            var v = await client.GetAsync($"v1/groups/{Uri.EscapeDataString(p.GetValue(infoName)!)}", ApiJsonContext.Default.GroupView, ct);
            if (print.Json) { print.WriteJson(v, ApiJsonContext.Default.GroupView); return; }
            var fields = new List<(string, string)>
            {
                ("Name", v.Name), ("Address space", v.Cidr), ("Protection", v.Protection), ("Cipher", v.Cipher),
                ("Applications", v.Applications.ToString()), ("Version", v.Version.ToString()),
            };
            foreach (var e in v.Epochs)
                fields.Add(($"Key epoch {e.Epoch}", e.RetiresAt is { } r ? $"created {e.CreatedAt:u}, retires {r:u}" : $"created {e.CreatedAt:u}, current"));
            print.WriteFields(fields);
        }));
        yield return info;

        var undefineName = new Argument<string>("GROUP") { Description = "group name" };
        var undefine = new Command("group-undefine", "remove a group (refused while it has applications)") { undefineName };
        undefine.SetAction(g.Run(async (client, print, p, ct) =>
        {
            var n = p.GetValue(undefineName)!;
            await client.DeleteAsync($"v1/groups/{Uri.EscapeDataString(n)}", ct);
            print.WriteLine($"Group {n} undefined");
        }));
        yield return undefine;

        var rotateName = new Argument<string>("GROUP") { Description = "group name" };
        var grace = new Option<int?>("--grace") { Description = "seconds the previous key epoch stays valid (default: the daemon's setting)" };
        var rotate = new Command("credentials-rotate", "start a new key epoch for a group; the previous one retires after a grace period") { rotateName, grace };
        rotate.SetAction(g.Run(async (client, print, p, ct) =>
        {
            var v = await client.PostAsync($"v1/groups/{Uri.EscapeDataString(p.GetValue(rotateName)!)}/credentials/rotate",
                new CredentialsRotateRequest(p.GetValue(grace)), ApiJsonContext.Default.CredentialsRotateRequest, ApiJsonContext.Default.GroupView, ct);
            print.ReplyLine(v, ApiJsonContext.Default.GroupView, $"Group {v.Name}: key epoch {LastEpoch(v)} is current (version {v.Version})");
        }));
        yield return rotate;

        var protectName = new Argument<string>("GROUP") { Description = "group name" };
        var level = new Argument<string>("LEVEL") { Description = "sealed or authenticated" };
        var protect = new Command("group-protect", "change a group's protection level (only overlay configuration changes)") { protectName, level };
        protect.SetAction(g.Run(async (client, print, p, ct) =>
        {
            var v = await client.PostAsync($"v1/groups/{Uri.EscapeDataString(p.GetValue(protectName)!)}/protection",
                new GroupProtectionRequest(p.GetValue(level)!), ApiJsonContext.Default.GroupProtectionRequest, ApiJsonContext.Default.GroupView, ct);
            print.ReplyLine(v, ApiJsonContext.Default.GroupView, $"Group {v.Name}: protection {v.Protection} (version {v.Version})");
        }));
        yield return protect;
    }

    private static string LastEpoch(GroupView v) => v.Epochs.Count == 0 ? "-" : v.Epochs[^1].Epoch.ToString();
}
