using OverlayKvm.Core.Api;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace OverlayKvm.HostDaemon.Engine;

/// <summary>The engine's admin API (served on the daemon's admin unix socket; used by overlayctl).</summary>
public static class EngineEndpoints
{
    /// <summary>Maps <c>GET /v1/engine/stat</c> and <c>POST /v1/engine/groups/{group}/disable|enable</c>.</summary>
    public static IEndpointRouteBuilder MapEngineEndpoints(this IEndpointRouteBuilder endpoints)
    {
        RouteGroupBuilder engine = endpoints.MapGroup("/v1/engine");
        engine.MapGet("/stat", (EngineRegistry registry) =>
            Results.Json(registry.Snapshot(), ApiJsonContext.Default.EngineStat));
        engine.MapPost("/groups/{group}/disable", (string group, EngineRegistry registry) => Switch(registry, group, enabled: false));
        engine.MapPost("/groups/{group}/enable", (string group, EngineRegistry registry) => Switch(registry, group, enabled: true));
        return endpoints;
    }

    private static IResult Switch(EngineRegistry registry, string group, bool enabled)
    {
        EngineSwitchStatus status = registry.SetEnabled(group, enabled);
        return status == EngineSwitchStatus.UnknownGroup
            ? Results.Json(new ErrorView($"engine {(enabled ? "enable" : "disable")}: group '{group}' not found"),
                ApiJsonContext.Default.ErrorView, statusCode: StatusCodes.Status404NotFound)
            : Results.Json(new EngineSwitchResponse(group, enabled, status.ToString()), ApiJsonContext.Default.EngineSwitchResponse);
    }
}
