using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using OverlayKvm.Core.Api;
using OverlayKvm.Core.Config;
using OverlayKvm.Core.Store;
using OverlayKvm.HostDaemon.Hosting;

namespace OverlayKvm.HostDaemon.Api;

/// <summary>Domains (VMs): declare with their underlay address (or let libvirt give it: Libvirt/Addresses), list, and show the configuration document an agent receives.</summary>
internal static partial class DomainEndpoints
{
    public static IEndpointRouteBuilder MapDomainEndpoints(this IEndpointRouteBuilder app)
    {
        var domains = app.MapGroup("/v1/domains");

        domains.MapGet("/", (IOverlayStore store) =>
        {
            var views = new List<DomainView>();
            foreach (var d in store.ListDomains()) views.Add(d.ToView());
            return Results.Ok(views);
        });

        domains.MapGet("/{name}", (string name, IOverlayStore store) =>
            Results.Ok((store.GetDomain(name) ?? throw new EntityNotFoundException("domain", name)).ToView()));

        domains.MapPost("/", (DomainDefineRequest request, IOverlayStore store, LocalHost localHost) =>
        {
            var name = ApiParsing.Required("domain name", request.Name);
            var address = ApiParsing.OptionalAddress($"domain {name}: address", request.Address);
            var existing = store.GetDomain(name);
            var defined = store.UpsertDomain(name, existing?.Uuid, request.Host ?? existing?.Host ?? localHost.Name, address ?? existing?.Address);
            if (address is not null && defined.AddressSource != Core.Model.DomainAddressSource.Operator)
            {
                // The operator named the address libvirt had given: it is theirs now, a lease change must not move it.
                defined = store.SetDomainAddress(name, address, Core.Model.DomainAddressSource.Operator);
            }
            return Results.Ok(defined.ToView());
        });

        domains.MapGet("/{name}/config", (string name, bool? secrets, DomainConfigBuilder builder, ILoggerFactory logs) =>
        {
            var withSecrets = secrets == true;
            // Audit who asked for keys (never the keys themselves).
            if (withSecrets) Log.SecretsShown(logs.CreateLogger("OverlayKvm.Audit"), name);
            return Results.Ok(builder.Build(name, withSecrets));
        });

        app.MapGet("/v1/channels", (Channel.ChannelSupervisorService channels) =>
        {
            var views = new List<ChannelView>();
            foreach (var c in channels.Status()) views.Add(new ChannelView(c.Domain, c.Socket, c.Connected, c.AcknowledgedVersion, c.Rejected,
                channels.Client(c.Domain)?.RefusedPeers ?? 0));
            return Results.Ok(views);
        });

        return app;
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "configuration document of domain {Domain} served with credentials")]
        public static partial void SecretsShown(ILogger logger, string domain);
    }
}
