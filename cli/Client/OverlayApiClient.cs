using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using OverlayKvm.Core.Api;

namespace OverlayKvm.Cli.Client;

/// <summary>
/// overlayd's admin API over its unix socket. Every failure becomes an <see cref="OverlayCtlException"/> with
/// one line an operator can act on: the daemon's own message for refusals, the socket and the reason for
/// connection problems.
/// </summary>
internal sealed class OverlayApiClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly string _socket;
    private readonly bool _ownsHttp;

    public OverlayApiClient(string socketPath, TimeSpan timeout)
        : this(CreateHttpClient(socketPath, timeout), socketPath, ownsHttp: true)
    {
    }

    /// <summary>Over a given HttpClient (commands handed one by their host, tests); <paramref name="endpoint"/> names it in errors.</summary>
    public OverlayApiClient(HttpClient http, string endpoint, bool ownsHttp)
    {
        _http = http;
        _socket = endpoint;
        _ownsHttp = ownsHttp;
    }

    /// <summary>An HttpClient whose every connection is overlayd's unix socket.</summary>
    public static HttpClient CreateHttpClient(string socketPath, TimeSpan timeout)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), ct);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        return new HttpClient(handler) { BaseAddress = new Uri("http://overlayd/"), Timeout = timeout };
    }

    public Task<T> GetAsync<T>(string path, JsonTypeInfo<T> type, CancellationToken ct) =>
        SendAsync(new HttpRequestMessage(HttpMethod.Get, path), type, ct);

    public Task<T> PostAsync<TBody, T>(string path, TBody body, JsonTypeInfo<TBody> bodyType, JsonTypeInfo<T> type, CancellationToken ct) =>
        SendAsync(new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body, bodyType) }, type, ct);

    /// <summary>A POST without a body and its typed answer.</summary>
    public Task<T> PostAsync<T>(string path, JsonTypeInfo<T> type, CancellationToken ct) =>
        SendAsync(new HttpRequestMessage(HttpMethod.Post, path), type, ct);

    /// <summary>A PUT without a body and its typed answer.</summary>
    public Task<T> PutAsync<T>(string path, JsonTypeInfo<T> type, CancellationToken ct) =>
        SendAsync(new HttpRequestMessage(HttpMethod.Put, path), type, ct);

    /// <summary>A DELETE and its typed answer.</summary>
    public Task<T> DeleteAsync<T>(string path, JsonTypeInfo<T> type, CancellationToken ct) =>
        SendAsync(new HttpRequestMessage(HttpMethod.Delete, path), type, ct);

    public async Task DeleteAsync(string path, CancellationToken ct)
    {
        using var response = await ExchangeAsync(new HttpRequestMessage(HttpMethod.Delete, path), ct);
    }

    private async Task<T> SendAsync<T>(HttpRequestMessage request, JsonTypeInfo<T> type, CancellationToken ct)
    {
        using var response = await ExchangeAsync(request, ct);
        try
        {
            return await response.Content.ReadFromJsonAsync(type, ct)
                   ?? throw new OverlayCtlException($"overlayd answered {request.RequestUri} with an empty body");
        }
        catch (JsonException ex)
        {
            throw new OverlayCtlException($"overlayd answered {request.RequestUri} with JSON this overlayctl does not understand ({ex.Message}); versions differ?");
        }
    }

    /// <summary>Set when overlayd said its answer came from a copy of the store that may be stale (etcd unreachable).</summary>
    public string? StaleReason { get; private set; }

    private async Task<HttpResponseMessage> ExchangeAsync(HttpRequestMessage request, CancellationToken ct)
    {
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, ct);
        }
        catch (HttpRequestException ex) when (ex.InnerException is SocketException se)
        {
            throw new OverlayCtlException(se.SocketErrorCode switch
            {
                SocketError.AddressNotAvailable or SocketError.ConnectionRefused =>
                    $"cannot connect to overlayd at {_socket}: nothing is listening (is overlayd running?)",
                SocketError.AccessDenied => $"cannot connect to overlayd at {_socket}: permission denied (root or the socket's group needed)",
                _ => $"cannot connect to overlayd at {_socket}: {se.Message}",
            }, ExitCodes.Unavailable);
        }
        catch (HttpRequestException ex)
        {
            throw new OverlayCtlException($"cannot talk to overlayd at {_socket}: {ex.Message}", ExitCodes.Unavailable);
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new OverlayCtlException($"overlayd at {_socket} did not answer within {_http.Timeout.TotalSeconds:0} s", ExitCodes.Unavailable);
        }

        if (response.Headers.TryGetValues(ApiHeaders.Stale, out var stale))
            StaleReason = string.Join("; ", stale);
        if (response.IsSuccessStatusCode) return response;
        using (response)
        {
            throw new OverlayCtlException(await DescribeErrorAsync(response, ct), response.StatusCode switch
            {
                HttpStatusCode.NotFound => ExitCodes.NotFound,
                // The store (etcd) is unreachable: nothing was written; like an unreachable overlayd, try later.
                // Other 503s (libvirt reconnecting, a silent agent) are refusals with their reason.
                HttpStatusCode.ServiceUnavailable when IsStoreUnavailable(response) => ExitCodes.Unavailable,
                _ => ExitCodes.Refused,
            });
        }
    }

    private static bool IsStoreUnavailable(HttpResponseMessage response) =>
        response.Headers.TryGetValues(ApiHeaders.Unavailable, out var values)
        && values.Contains(ApiHeaders.UnavailableStore, StringComparer.Ordinal);

    private static async Task<string> DescribeErrorAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var text = await response.Content.ReadAsStringAsync(ct);
        try
        {
            if (JsonSerializer.Deserialize(text, ApiJsonContext.Default.ErrorView) is { Error: { Length: > 0 } error }) return error;
        }
        catch (JsonException)
        {
            // Not our error shape (e.g. a proxy or an older daemon): fall through to the status line.
        }
        return $"overlayd answered {(int)response.StatusCode} {response.ReasonPhrase}";
    }

    public void Dispose()
    {
        if (_ownsHttp) _http.Dispose();
    }
}
