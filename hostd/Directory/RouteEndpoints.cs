using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using OverlayKvm.Core.Api;
using OverlayKvm.Core.DirectoryService;
using OverlayKvm.Core.Model.Validation;
using OverlayKvm.Core.Policy;
using OverlayKvm.Core.Store;
using OverlayKvm.HostDaemon.Api;
using OverlayKvm.HostDaemon.Policy;

namespace OverlayKvm.HostDaemon.DirectoryService;

/// <summary>
/// GET /v1/directory[?group=G] — the mappings at the current version. POST /v1/directory/reconcile — reconcile with libvirt now. GET /v1/route?src=&amp;dst=&amp;proto=&amp;port= — the directory's answer for one flow: path class, forwarding
/// path, ordered actions, verdict and the deciding policy (seed 002 R4, issue 7 route-explain).
/// </summary>
internal static class RouteEndpoints
{
    public static IEndpointRouteBuilder MapRouteEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/route", (string? src, string? dst, string? proto, int? port, OverlayDirectoryProvider directory, OverlayKvm.HostDaemon.Engine.EngineRegistry engine) =>
        {
            var current = directory.Current();
            var source = Resolve(current, "src", ApiParsing.Required("src", src));
            var destination = Resolve(current, "dst", ApiParsing.Required("dst", dst));
            var protocol = ParseProtocol(proto);
            var p = port ?? 0;
            if (p is < 0 or > 65535) throw new ApiArgumentException($"port: {p} is not a port from 0 to 65535");
            if (p != 0 && protocol is not (IpProtocolNumbers.Tcp or IpProtocolNumbers.Udp))
                throw new ApiArgumentException($"port: {p} needs proto tcp or udp ({PolicyViews.ProtocolName(protocol)} has no ports)");
            return Results.Ok(current.Lookup(source, destination, protocol, (ushort)p, engine.IsEnabled).ToView());
        });
        // Reconcile the directory with libvirt now (the scheduled job's pass, on demand) and return what it found.
        app.MapPost("/v1/directory/reconcile", (OverlayKvm.HostDaemon.Jobs.DirectoryReconciler reconciler) => Results.Ok(reconciler.Run()));
        app.MapGet("/v1/directory", (string? group, OverlayDirectoryProvider directory, IOverlayStore store) =>
        {
            if (group is not null && store.GetGroup(group) is null) throw new EntityNotFoundException("group", group);
            var current = directory.Current();
            var entries = new List<DirectoryEntryView>(current.Count);
            foreach (var e in current.Entries())
            {
                if (group is null || string.Equals(e.Group, group, StringComparison.Ordinal))
                    entries.Add(new DirectoryEntryView(e.Group, e.App, e.Address.ToString(), e.Domain, e.Host, e.DomainAddress?.ToString(), e.HostAddress?.ToString()));
            }
            return Results.Ok(new DirectoryView(current.Version, entries));
        });
        return app;
    }

    /// <summary>An overlay address ("10.2.0.5") or GROUP/APP.</summary>
    internal static DirectoryEntry Resolve(OverlayDirectory directory, string field, string text)
    {
        if (AddressSpaceRules.TryParseAddress(text, out var address))
            return directory.TryFind(address, out var byAddress) ? byAddress : throw new EntityNotFoundException("app with address", text);
        var slash = text.IndexOf('/');
        if (slash > 0 && slash < text.Length - 1)
        {
            var (group, name) = (text[..slash], text[(slash + 1)..]);
            return directory.TryFind(group, name, out var byName) ? byName : throw new EntityNotFoundException("app", text);
        }
        throw new ApiArgumentException($"{field}: '{PolicyText.Printable(text)}' is neither an overlay address nor GROUP/APP");
    }

    private static byte ParseProtocol(string? text) => text?.Trim().ToLowerInvariant() switch
    {
        null or "" or "any" => 0,
        "tcp" => IpProtocolNumbers.Tcp,
        "udp" => IpProtocolNumbers.Udp,
        "icmp" => IpProtocolNumbers.Icmp,
        "icmpv6" => IpProtocolNumbers.IcmpV6,
        var other when byte.TryParse(other, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number) => number,
        _ => throw new ApiArgumentException($"proto: '{PolicyText.Printable(text!)}' is not tcp, udp, icmp, any or a protocol number 0-255"),
    };
}
