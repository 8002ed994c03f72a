using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using OverlayKvm.Core.Api;
using OverlayKvm.Core.Policy;
using OverlayKvm.Core.Store;
using OverlayKvm.HostDaemon.Api;

namespace OverlayKvm.HostDaemon.Policy;

/// <summary>Access policies (add, list, show, remove) and group nesting (set/clear a group's parent, list).</summary>
internal static class PolicyEndpoints
{
    public static IEndpointRouteBuilder MapPolicyEndpoints(this IEndpointRouteBuilder app)
    {
        var policies = app.MapGroup("/v1/policies");

        // ?group=G: policies attached to G; with &inherited=true also those of G's ancestors (all that apply to G's members).
        policies.MapGet("/", (string? group, bool? inherited, IOverlayStore store) =>
        {
            var views = new List<PolicyView>();
            if (group is not null && inherited == true)
            {
                var chain = new HashSet<string>(StringComparer.Ordinal) { group };
                var parents = ParentMap(store);
                var current = group;
                while (chain.Count <= PolicyRules.MaxNestingDepth && parents.TryGetValue(current, out var above) && chain.Add(above)) current = above;
                _ = store.GetGroup(group) ?? throw new EntityNotFoundException("group", group);
                foreach (var p in store.ListPolicies()) if (chain.Contains(p.DestinationGroup)) views.Add(p.ToView());
                return Results.Ok(views);
            }
            foreach (var p in store.ListPolicies(group)) views.Add(p.ToView());
            return Results.Ok(views);
        });

        policies.MapGet("/{id}", (string id, IOverlayStore store) =>
        {
            var number = ParseId(id);
            return Results.Ok((store.GetPolicy(number) ?? throw new EntityNotFoundException("policy", id)).ToView());
        });

        policies.MapPost("/", (PolicyAddRequest request, IOverlayStore store) =>
        {
            var added = store.AddPolicy(ToDefinition(request));
            return Results.Created($"/v1/policies/{added.Id}", added.ToView());
        });

        policies.MapDelete("/{id}", (string id, IOverlayStore store) =>
        {
            store.RemovePolicy(ParseId(id));
            return Results.NoContent();
        });

        app.MapPost("/v1/groups/{name}/parent", (string name, GroupParentRequest request, IOverlayStore store) =>
        {
            var parent = ApiParsing.Required($"group {name}: parent", request.Parent);
            store.SetGroupParent(name, parent);
            return Results.Ok(Nesting(store, name));
        });

        app.MapDelete("/v1/groups/{name}/parent", (string name, IOverlayStore store) =>
        {
            store.SetGroupParent(name, null);
            return Results.Ok(Nesting(store, name));
        });

        app.MapGet("/v1/nesting", (IOverlayStore store) =>
        {
            var views = new List<GroupNestingView>();
            var version = store.CurrentVersion();
            var parents = ParentMap(store);
            foreach (var (group, _) in parents) views.Add(Nesting(group, parents, version));
            views.Sort(static (a, b) => string.CompareOrdinal(a.Group, b.Group));
            return Results.Ok(views);
        });

        return app;
    }

    /// <summary>Request → definition through the model's parsers, so the API and the store refuse with one vocabulary.</summary>
    internal static PolicyDefinition ToDefinition(PolicyAddRequest request)
    {
        var destination = ApiParsing.Required("policy destination group", request.Destination);
        var field = $"policy for {destination}";
        if (request.From is not { Count: > 0 } from)
            throw new ApiArgumentException($"{field}: from: name at least one sender ({PolicyText.SenderForms})");
        var senders = new List<PolicySender>(from.Count);
        for (int i = 0; i < from.Count; i++) senders.Add(PolicyText.ParseSender($"{field}: from[{i}]", from[i]));
        var protocol = PolicyText.ParseProtocol($"{field}: protocol", request.Protocol);
        PortRange? ports = string.IsNullOrWhiteSpace(request.Ports) ? null : PortRange.Parse($"{field}: ports", request.Ports);
        var definition = new PolicyDefinition(destination, senders, protocol, ports, PolicyText.ParseVerdict($"{field}: verdict", request.Verdict));
        PolicyRules.CheckDefinition(definition);
        return definition;
    }

    private static long ParseId(string text) =>
        long.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id) && id > 0
            ? id
            : throw new ApiArgumentException($"policy id: '{text}' is not a policy number (see policy-list)");

    private static GroupNestingView Nesting(IOverlayStore store, string group)
    {
        _ = store.GetGroup(group) ?? throw new EntityNotFoundException("group", group);
        return Nesting(group, ParentMap(store), store.CurrentVersion());
    }

    private static GroupNestingView Nesting(string group, Dictionary<string, string> parents, long version)
    {
        var ancestors = new List<string>();
        var current = group;
        while (ancestors.Count <= PolicyRules.MaxNestingDepth && parents.TryGetValue(current, out var above))
        {
            ancestors.Add(above);
            current = above;
        }
        return new GroupNestingView(group, ancestors.Count > 0 ? ancestors[0] : null, ancestors, version);
    }

    private static Dictionary<string, string> ParentMap(IOverlayStore store)
    {
        var parents = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var row in store.ListGroupParents()) parents[row.Group] = row.Parent;
        return parents;
    }
}
