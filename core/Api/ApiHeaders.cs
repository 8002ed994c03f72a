namespace OverlayKvm.Core.Api;

/// <summary>HTTP headers of the admin API beyond the standard ones.</summary>
public static class ApiHeaders
{
    /// <summary>
    /// On an answer served from a local copy of the store that may miss changes made elsewhere (etcd
    /// unreachable): why. overlayctl prints it as one warning line on stderr.
    /// </summary>
    public const string Stale = "X-OverlayKvm-Stale";
}
