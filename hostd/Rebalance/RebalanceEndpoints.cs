using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using OverlayKvm.Core.Api;
using OverlayKvm.Core.Store;

namespace OverlayKvm.HostDaemon.Rebalance;

/// <summary>
/// <c>GET /v1/rebalance</c> (the proposals, nothing moves), <c>POST /v1/rebalance/apply</c> (performs them one at a
/// time), <c>PUT</c>/<c>DELETE /v1/domains/{name}/pin</c> (an operator's pin: rebalance never moves the domain).
/// </summary>
internal static class RebalanceEndpoints
{
    public static IEndpointRouteBuilder MapRebalanceEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/rebalance", (RebalanceRunner runner, CancellationToken ct) => runner.PlanAsync(ct));
        app.MapPost("/v1/rebalance/apply", (RebalanceRunner runner, CancellationToken ct) => runner.ApplyAsync(ct));
        app.MapPut("/v1/domains/{name}/pin", (string name, IOverlayStore store) => Pin(store, name, true));
        app.MapDelete("/v1/domains/{name}/pin", (string name, IOverlayStore store) => Pin(store, name, false));
        return app;
    }

    private static DomainPinView Pin(IOverlayStore store, string name, bool pinned)
    {
        store.SetDomainPinned(name, pinned);
        return new DomainPinView(name, pinned);
    }
}
