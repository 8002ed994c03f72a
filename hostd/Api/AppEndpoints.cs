using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using OverlayKvm.Core.Api;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.Store;

namespace OverlayKvm.HostDaemon.Api;

/// <summary>Applications: define (address given or allocated), list, show, undefine.</summary>
internal static class AppEndpoints
{
    public static IEndpointRouteBuilder MapAppEndpoints(this IEndpointRouteBuilder app)
    {
        var apps = app.MapGroup("/v1/apps");

        apps.MapGet("/", (string? group, IOverlayStore store) =>
        {
            if (group is not null && store.GetGroup(group) is null) throw new EntityNotFoundException("group", group);
            var views = new List<AppView>();
            foreach (var a in store.ListApplications(group)) views.Add(a.ToView());
            return Results.Ok(views);
        });

        apps.MapGet("/{group}/{name}", (string group, string name, IOverlayStore store) =>
            Results.Ok((store.GetApplication(group, name) ?? throw new EntityNotFoundException("app", $"{group}/{name}")).ToView()));

        apps.MapPost("/", (AppDefineRequest request, IOverlayStore store) =>
        {
            var group = ApiParsing.Required("app group", request.Group);
            var name = ApiParsing.Required("app name", request.Name);
            var domain = ApiParsing.Required($"app {group}/{name}: domain", request.Domain);
            var address = ApiParsing.OptionalAddress($"app {group}/{name}: address", request.Address);
            var manifest = new List<DataObject>();
            if (request.Manifest is not null)
                foreach (var o in request.Manifest)
                    manifest.Add(new DataObject(
                        ApiParsing.Required($"app {group}/{name}: manifest name", o.Name),
                        ApiParsing.Required($"app {group}/{name}: manifest source", o.Source), o.Sha256));
            var defined = store.DefineApplication(group, name, address, domain, manifest);
            return Results.Created($"/v1/apps/{group}/{name}", defined.ToView());
        });

        apps.MapDelete("/{group}/{name}", (string group, string name, IOverlayStore store) =>
        {
            store.UndefineApplication(group, name);
            return Results.NoContent();
        });

        return app;
    }
}
