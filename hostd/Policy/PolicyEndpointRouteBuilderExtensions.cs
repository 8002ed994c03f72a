using OverlayKvm.HostDaemon.DirectoryService;
using OverlayKvm.HostDaemon.Policy;

// In the routing namespace so overlayd's MapOverlayApi maps these with one line and no extra using.
namespace Microsoft.AspNetCore.Routing;

public static class PolicyEndpointRouteBuilderExtensions
{
    /// <summary>The policy, group-nesting and route-explain endpoints (/v1/policies, /v1/groups/{name}/parent, /v1/nesting, /v1/route).</summary>
    public static IEndpointRouteBuilder MapPolicyApi(this IEndpointRouteBuilder app)
    {
        app.MapPolicyEndpoints();
        app.MapRouteEndpoints();
        return app;
    }
}
