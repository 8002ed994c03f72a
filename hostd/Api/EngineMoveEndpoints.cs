using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using OverlayKvm.Core.Api;
using OverlayKvm.Core.Store;
using OverlayKvm.HostDaemon.Channel;
using OverlayKvm.HostDaemon.Engine;
using OverlayKvm.HostDaemon.Hosting;

namespace OverlayKvm.HostDaemon.Api;

/// <summary>
/// The two halves of domain-migrate's region dance, for an operator who moves a domain by hand (docs/migration.md):
/// <c>POST /v1/domains/{name}/engine-leave</c> — the agent unmaps the regions and confirms, its slots here are freed;
/// after that the region devices may be hot-unplugged (<c>virsh detach-device --live</c>) without a SIGBUS in the
/// guest — and <c>POST /v1/domains/{name}/engine-join</c> — the regions are plugged in (again): the agent attaches.
/// 404 unknown domain; 503 when the agent cannot confirm (elsewhere, not connected, too slow).
/// </summary>
internal static class EngineMoveEndpoints
{
    public static IEndpointRouteBuilder MapEngineMoveEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/domains/{name}/engine-leave", async (string name, IOverlayStore store, LocalHost host, ChannelSupervisorService channels,
            EngineRegistry engine, CancellationToken ct) =>
        {
            DomainChannelClient client = ClientOf(name, store, host, channels);
            var clock = Stopwatch.StartNew();
            var reply = await client.LeaveEngineAsync(DomainChannelClient.DefaultEngineLeaveTimeout, ct);
            double seconds = clock.Elapsed.TotalSeconds;
            // Peers drop it from their engine answers (directory change) and reach it sealed.
            int released = engine.RemoveDomain(name);
            return Results.Json(new EngineLeaveView(name, reply.Unmapped, released, seconds), ApiJsonContext.Default.EngineLeaveView);
        });
        app.MapPost("/v1/domains/{name}/engine-join", async (string name, IOverlayStore store, LocalHost host, ChannelSupervisorService channels, CancellationToken ct) =>
        {
            DomainChannelClient client = ClientOf(name, store, host, channels);
            return Results.Json(new EngineJoinView(name, await client.JoinEngineAsync(ct)), ApiJsonContext.Default.EngineJoinView);
        });
        return app;
    }

    private static DomainChannelClient ClientOf(string name, IOverlayStore store, LocalHost host, ChannelSupervisorService channels)
    {
        var domain = store.GetDomain(name) ?? throw new EntityNotFoundException("domain", name);
        return channels.Client(name)
            ?? throw new AgentUnavailableException(domain.Host == host.Name
                ? $"domain {name}: overlayd does not watch its agent channel yet"
                : $"domain {name} runs on host {domain.Host}, not on this host ({host.Name}): ask that host's overlayd");
    }
}
