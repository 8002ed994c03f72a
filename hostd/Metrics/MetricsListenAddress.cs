using System.Net;

namespace OverlayKvm.HostDaemon.Metrics;

/// <summary>
/// Where the Prometheus endpoint listens (<c>--metrics-listen</c>): an absolute unix socket path (<c>/run/overlaykvm/metrics.sock</c>,
/// also written <c>unix:/run/…</c>) or an explicit TCP address and port (<c>127.0.0.1:9464</c>, <c>[::1]:9464</c>).
/// An explicit address, never "all interfaces" by default: the counters name domains, groups and apps.
/// </summary>
internal sealed record MetricsListenAddress(string? UnixPath, IPEndPoint? Tcp)
{
    public static bool TryParse(string? text, out MetricsListenAddress? address, out string? error)
    {
        address = null;
        error = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "empty";
            return false;
        }
        string path = text.StartsWith("unix:", StringComparison.Ordinal) ? text["unix:".Length..] : text;
        if (path.StartsWith('/'))
        {
            if (System.Text.Encoding.UTF8.GetByteCount(path) > 107)
            {
                error = $"unix socket path '{path}' is longer than 107 bytes";
                return false;
            }
            address = new MetricsListenAddress(path, null);
            return true;
        }
        if (IPEndPoint.TryParse(text, out IPEndPoint? endpoint) && endpoint.Port > 0)
        {
            address = new MetricsListenAddress(null, endpoint);
            return true;
        }
        error = $"'{text}' is neither an absolute unix socket path nor ADDRESS:PORT (e.g. 127.0.0.1:9464)";
        return false;
    }

    public override string ToString() => UnixPath ?? Tcp!.ToString();
}
