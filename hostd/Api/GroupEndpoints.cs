using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using OverlayKvm.Core.Api;
using OverlayKvm.Core.Model.Validation;
using OverlayKvm.Core.Store;
using OverlayKvm.HostDaemon.Hosting;

namespace OverlayKvm.HostDaemon.Api;

/// <summary>Application groups: define, list, show, undefine, rotate credentials.</summary>
internal static class GroupEndpoints
{
    public static IEndpointRouteBuilder MapGroupEndpoints(this IEndpointRouteBuilder app)
    {
        var groups = app.MapGroup("/v1/groups");

        groups.MapGet("/", (IOverlayStore store) =>
        {
            var counts = AppCounts(store);
            var views = new List<GroupView>();
            foreach (var g in store.ListGroups())
                views.Add(g.ToView(counts.GetValueOrDefault(g.Name), store.GetCredentials(g.Name)));
            return Results.Ok(views);
        });

        groups.MapGet("/{name}", (string name, IOverlayStore store) => Results.Ok(Describe(store, name)));

        groups.MapPost("/", (GroupDefineRequest request, IOverlayStore store) =>
        {
            var name = ApiParsing.Required("group name", request.Name);
            var space = ApiParsing.Cidr($"group {name}: cidr", request.Cidr);
            // Refused here, where the operator asks, rather than accepted and then refused by every agent (issue 12).
            if (space.BaseAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6)
                throw new ApiArgumentException($"group {name}: cidr {space}: IPv6 group spaces are not supported yet: the guest agent's datapath "
                    + "(adapters, routes, sealed and engine frames, anti-spoofing) carries IPv4 packets only; use an IPv4 space such as 10.1.0.0/16");
            store.DefineGroup(name, space, ProtectionNames.Parse(request.Protection), CipherRules.Parse(name, request.Cipher));
            return Results.Created($"/v1/groups/{name}", Describe(store, name));
        });

        groups.MapDelete("/{name}", (string name, IOverlayStore store) =>
        {
            store.UndefineGroup(name);
            return Results.NoContent();
        });

        groups.MapPost("/{name}/credentials/rotate", (string name, CredentialsRotateRequest? request,
            IOverlayStore store, IOptions<DaemonOptions> options) =>
        {
            var grace = request?.GraceSeconds ?? options.Value.CredentialGraceSeconds;
            if (grace < 0) throw new ApiArgumentException($"group {name}: graceSeconds must not be negative (got {grace})");
            store.RotateCredentials(name, TimeSpan.FromSeconds(grace));
            return Results.Ok(Describe(store, name));
        });

        // R0.4: the protection level changes only overlay configuration; running apps are not touched.
        groups.MapPost("/{name}/protection", (string name, GroupProtectionRequest request, IOverlayStore store) =>
        {
            store.SetGroupProtection(name, ProtectionNames.Parse(request.Protection));
            return Results.Ok(Describe(store, name));
        });

        return app;
    }

    private static GroupView Describe(IOverlayStore store, string name)
    {
        var group = store.GetGroup(name) ?? throw new EntityNotFoundException("group", name);
        return group.ToView(store.ListApplications(name).Count, store.GetCredentials(name));
    }

    private static Dictionary<string, int> AppCounts(IOverlayStore store)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var a in store.ListApplications())
            counts[a.Group] = counts.GetValueOrDefault(a.Group) + 1;
        return counts;
    }
}
