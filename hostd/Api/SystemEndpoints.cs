using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using OverlayKvm.Core.Api;
using OverlayKvm.Core.Store;
using OverlayKvm.HostDaemon.Hosting;

namespace OverlayKvm.HostDaemon.Api;

/// <summary>Health (for probes and the readiness check of scripts) and version.</summary>
internal static class SystemEndpoints
{
    public const string ApiVersion = "1";

    public static IEndpointRouteBuilder MapSystemEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/health", (IOverlayStore store, LocalHost host) =>
            Results.Ok(new HealthView("ok", store.CurrentVersion(), host.Name)));

        app.MapGet("/v1/version", (IOverlayStore store) =>
            Results.Ok(new VersionView(DaemonVersion, ApiVersion, store.CurrentVersion())));

        return app;
    }

    public static string DaemonVersion { get; } =
        typeof(SystemEndpoints).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";
}
