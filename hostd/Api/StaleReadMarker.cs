using Microsoft.AspNetCore.Http;
using OverlayKvm.Core.Api;
using OverlayKvm.Core.Store;

namespace OverlayKvm.HostDaemon.Api;

/// <summary>
/// Marks every answer with <see cref="ApiHeaders.Stale"/> while the store serves a copy it cannot check against
/// etcd (quorum lost): reads keep working, fail-static, and the operator is told they may be stale.
/// </summary>
internal sealed class StaleReadMarker(RequestDelegate next, IOverlayStore store)
{
    public Task InvokeAsync(HttpContext context)
    {
        if (store is IStoreFreshness { StaleReason: { } reason })
        {
            context.Response.Headers[ApiHeaders.Stale] = reason;
        }

        return next(context);
    }
}
