using OverlayKvm.Core.Api;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using OverlayKvm.Core.Store;
using OverlayKvm.HostDaemon.Placement;

namespace OverlayKvm.HostDaemon.Libvirt;

/// <summary>The libvirt part of overlayd's admin API (HTTP/JSON on the admin unix socket).</summary>
public static class LibvirtEndpoints
{
    /// <summary>
    /// Maps POST /v1/hooks/qemu (200 allow / 403 refuse), POST /v1/domains/{name}/attach, POST /v1/domains/{name}/migrate and
    /// GET /v1/domains/{name}/placement.
    /// </summary>
    public static IEndpointRouteBuilder MapLibvirtEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost("/v1/hooks/qemu", (HookRequest request, QemuHookHandler handler) =>
        {
            try
            {
                var verdict = handler.Evaluate(request);
                return verdict.Allow
                    ? Results.Json(verdict, LibvirtJsonContext.Default.HookResponse)
                    : Results.Json(verdict, LibvirtJsonContext.Default.HookResponse, statusCode: StatusCodes.Status403Forbidden);
            }
            catch (ArgumentException ex)
            {
                return Error(StatusCodes.Status400BadRequest, ex.Message);
            }
        });

        endpoints.MapPost("/v1/domains/{name}/attach", (string name, AttachRequest request, DomainAttachHandler handler) =>
        {
            try
            {
                return Results.Json(handler.Attach(name, request), ApiJsonContext.Default.AttachResponse);
            }
            catch (ArgumentException ex)
            {
                return Error(StatusCodes.Status400BadRequest, ex.Message);
            }
            catch (EntityNotFoundException ex)
            {
                return Error(StatusCodes.Status404NotFound, $"domain-attach {name}: {ex.Message}");
            }
            catch (LibvirtNotFoundException ex)
            {
                return Error(StatusCodes.Status404NotFound, $"domain-attach {name}: {ex.Message}");
            }
            catch (LibvirtUnavailableException ex)
            {
                return Error(StatusCodes.Status503ServiceUnavailable, $"domain-attach {name}: {ex.Message}");
            }
            catch (OverlayMetadataException ex)
            {
                return Error(StatusCodes.Status422UnprocessableEntity, $"domain-attach {name}: {ex.Message}");
            }
            catch (LibvirtException ex)
            {
                return Error(StatusCodes.Status502BadGateway, $"domain-attach {name}: {ex.Message}");
            }
        });

        endpoints.MapPost("/v1/domains/{name}/migrate", async (string name, MigrateRequest request, DomainMigrator migrator, CancellationToken ct) =>
        {
            if (string.IsNullOrWhiteSpace(request.To))
            {
                return Error(StatusCodes.Status400BadRequest, $"domain-migrate {name}: give the destination host (--to HOST)");
            }
            try
            {
                return Results.Json(await migrator.MigrateAsync(name, request, ct), ApiJsonContext.Default.MigrateResponse);
            }
            catch (MigrationRefusedException ex)
            {
                return Error(ex.Status, ex.Message);
            }
            catch (LibvirtException ex)
            {
                return Error(StatusCodes.Status502BadGateway, $"domain-migrate {name}: {ex.Message}");
            }
        });

        endpoints.MapGet("/v1/domains/{name}/placement", (string name, PlacementPlanner planner) =>
            Results.Json(planner.Choose(name), ApiJsonContext.Default.PlacementDecision));

        return endpoints;
    }

    private static IResult Error(int status, string message) =>
        Results.Json(new ErrorView(message), ApiJsonContext.Default.ErrorView, statusCode: status);
}
