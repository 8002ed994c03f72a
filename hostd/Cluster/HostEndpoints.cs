using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using OverlayKvm.Core.Api;
using OverlayKvm.Core.Cluster;
using OverlayKvm.Core.Store;

namespace OverlayKvm.HostDaemon.Cluster;

/// <summary>GET /v1/hosts — every host of the inventory, alive or not, with its domains and free capacity.</summary>
internal static class HostEndpoints
{
    public static IEndpointRouteBuilder MapHostEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/hosts", (IOverlayStore store, IHostLiveness liveness) => Results.Ok(HostInventory.Views(store.ReadSnapshot(), liveness)));
        return app;
    }
}
