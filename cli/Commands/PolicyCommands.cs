using System.CommandLine;
using OverlayKvm.Core.Api;

namespace OverlayKvm.Cli.Commands;

/// <summary>policy-add, policy-list, policy-remove; group-nest, group-unnest, group-nest-list (seed 004 R4.2-R4.3, R4.22).</summary>
internal static class PolicyCommands
{
    public static IEnumerable<Command> Create(CliGlobals g)
    {
        var destination = new Argument<string>("DEST_GROUP") { Description = "the group whose members receive the traffic (its sub-groups too)" };
        var from = new Option<string[]>("--from")
        {
            Description = "a sender: GROUP, GROUP/APP, CIDR or address, any; prefix not: to exclude (repeatable)",
            Required = true,
            AllowMultipleArgumentsPerToken = false,
        };
        var proto = new Option<string>("--proto") { Description = "tcp, udp, icmp or any (default any)" };
        var port = new Option<string>("--port") { Description = "destination port or range, e.g. 80 or 8000-8080 (tcp/udp only)" };
        var deny = new Option<bool>("--deny") { Description = "refuse the traffic instead of accepting it" };
        var add = new Command("policy-add", "accept (or with --deny refuse) traffic to a group from the given senders") { destination, from, proto, port, deny };
        add.SetAction(g.Run(async (client, print, p, ct) =>
        {
            var request = new PolicyAddRequest(p.GetValue(destination)!, p.GetValue(from) ?? [], p.GetValue(proto), p.GetValue(port), p.GetValue(deny) ? "deny" : "allow");
            var v = await client.PostAsync("v1/policies", request, PolicyJsonContext.Default.PolicyAddRequest, PolicyJsonContext.Default.PolicyView, ct);
            print.ReplyLine(v, PolicyJsonContext.Default.PolicyView, $"Policy {v.Id} added: {v.Description} (version {v.Version})");
        }));
        yield return add;

        var group = new Option<string>("--group") { Description = "only policies attached to this group" };
        var inherited = new Option<bool>("--inherited") { Description = "with --group: also the policies of its ancestors (everything that applies to its members)" };
        var list = new Command("policy-list", "list access policies by id") { group, inherited };
        list.SetAction(g.Run(async (client, print, p, ct) =>
        {
            if (p.GetValue(inherited) && p.GetValue(group) is null)
                throw new Client.OverlayCtlException("--inherited: needs --group GROUP", Client.ExitCodes.Usage);
            var path = p.GetValue(group) is { } name
                ? $"v1/policies?group={Uri.EscapeDataString(name)}{(p.GetValue(inherited) ? "&inherited=true" : "")}"
                : "v1/policies";
            var policies = await client.GetAsync(path, PolicyJsonContext.Default.ListPolicyView, ct);
            if (print.Json) { print.WriteJson(policies, PolicyJsonContext.Default.ListPolicyView); return; }
            var rows = new List<string[]>();
            foreach (var v in policies)
                rows.Add([v.Id.ToString(), v.Destination, v.Verdict, v.Protocol, v.Ports ?? "*", string.Join(", ", v.From), v.Version.ToString()]);
            print.WriteTable(["Id", "Destination", "Verdict", "Protocol", "Ports", "From", "Version"], rows);
        }));
        yield return list;

        var id = new Argument<long>("ID") { Description = "the policy's number (see policy-list)" };
        var remove = new Command("policy-remove", "remove an access policy") { id };
        remove.SetAction(g.Run(async (client, print, p, ct) =>
        {
            var number = p.GetValue(id);
            await client.DeleteAsync($"v1/policies/{number}", ct);
            print.WriteLine($"Policy {number} removed");
        }));
        yield return remove;

        var child = new Argument<string>("GROUP") { Description = "the group to nest" };
        var parent = new Argument<string>("PARENT") { Description = "the group it becomes a sub-group of: PARENT's policies then apply to it" };
        var nest = new Command("group-nest", "make GROUP a sub-group of PARENT") { child, parent };
        nest.SetAction(g.Run(async (client, print, p, ct) =>
        {
            var v = await client.PostAsync($"v1/groups/{Uri.EscapeDataString(p.GetValue(child)!)}/parent", new GroupParentRequest(p.GetValue(parent)),
                PolicyJsonContext.Default.GroupParentRequest, PolicyJsonContext.Default.GroupNestingView, ct);
            print.ReplyLine(v, PolicyJsonContext.Default.GroupNestingView, $"Group {v.Group} nested: {string.Join(" < ", [v.Group, .. v.Ancestors])} (version {v.StoreVersion})");
        }));
        yield return nest;

        var unnestName = new Argument<string>("GROUP") { Description = "the group to take out of its parent" };
        var unnest = new Command("group-unnest", "make GROUP a top-level group again") { unnestName };
        unnest.SetAction(g.Run(async (client, print, p, ct) =>
        {
            var n = p.GetValue(unnestName)!;
            await client.DeleteAsync($"v1/groups/{Uri.EscapeDataString(n)}/parent", ct);
            print.WriteLine($"Group {n} is a top-level group");
        }));
        yield return unnest;

        var nesting = new Command("group-nest-list", "list nested groups with their ancestors");
        nesting.SetAction(g.Run(async (client, print, p, ct) =>
        {
            var views = await client.GetAsync("v1/nesting", PolicyJsonContext.Default.ListGroupNestingView, ct);
            if (print.Json) { print.WriteJson(views, PolicyJsonContext.Default.ListGroupNestingView); return; }
            var rows = new List<string[]>();
            foreach (var v in views) rows.Add([v.Group, v.Parent ?? "-", string.Join(" < ", v.Ancestors)]);
            print.WriteTable(["Group", "Parent", "Ancestors"], rows);
        }));
        yield return nesting;
    }
}
