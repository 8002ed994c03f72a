namespace OverlayKvm.Core.Api;

/// <summary>HTTP headers of the admin API beyond the standard ones.</summary>
public static class ApiHeaders
{
    /// <summary>
    /// On an answer served from a local copy of the store that may miss changes made elsewhere (etcd
    /// unreachable): why. overlayctl prints it as one warning line on stderr.
    /// </summary>
    public const string Stale = "X-OverlayKvm-Stale";

    /// <summary>
    /// On a 503 answer, which service was unavailable. "store" (etcd without quorum: nothing was written) makes
    /// overlayctl exit 3 like an unreachable overlayd; other 503s (libvirt reconnecting, an agent that does not answer)
    /// are refusals with their reason (exit 1).
    /// </summary>
    public const string Unavailable = "X-OverlayKvm-Unavailable";

    /// <summary>The <see cref="Unavailable"/> value of a store that cannot be reached.</summary>
    public const string UnavailableStore = "store";
}
