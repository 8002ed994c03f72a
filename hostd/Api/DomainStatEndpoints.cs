using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using OverlayKvm.Core.Store;
using OverlayKvm.HostDaemon.Channel;
using OverlayKvm.HostDaemon.Hosting;

namespace OverlayKvm.HostDaemon.Api;

/// <summary>
/// <c>GET /v1/domains/{name}/stat</c> (R0.10): the domain's agent counters, asked over its host channel at the time of
/// the call. 404 for an unknown domain; 503 when its agent cannot answer (elsewhere, not connected, too slow).
/// </summary>
internal static class DomainStatEndpoints
{
    /// <summary>How long an agent gets to answer: a busy TCG guest answers in milliseconds; an operator should not wait longer.</summary>
    public static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(3);

    public static IEndpointRouteBuilder MapDomainStatEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/domains/{name}/stat", async (string name, IOverlayStore store, LocalHost host, ChannelSupervisorService channels, CancellationToken ct) =>
        {
            var domain = store.GetDomain(name) ?? throw new EntityNotFoundException("domain", name);
            DomainChannelClient client = channels.Client(name)
                ?? throw new AgentUnavailableException(domain.Host == host.Name
                    ? $"domain {name}: overlayd does not watch its agent channel yet"
                    : $"domain {name} runs on host {domain.Host}, not on this host ({host.Name}): ask that host's overlayd");
            return Results.Ok(await client.QueryCountersAsync(AnswerTimeout, ct));
        });
        return app;
    }
}
