using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;

namespace OverlayKvm.QemuHook;

/// <summary>One POST to overlayd over its admin unix socket, bounded by the hook timeout.</summary>
internal static class OverlaydClient
{
    /// <summary>overlayd's verdict, or an exception describing why overlayd could not be asked.</summary>
    /// <exception cref="OverlaydUnavailableException">Connect failed, timed out, or the answer was not a verdict.</exception>
    public static async Task<HookResponse> AskAsync(HookSettings settings, HookRequest request)
    {
        using var cts = new CancellationTokenSource(settings.Timeout);
        using var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            ConnectTimeout = settings.Timeout,
            ConnectCallback = async (_, ct) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(settings.SocketPath), ct);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        using var client = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        HttpResponseMessage response;
        try
        {
            response = await client.PostAsync(
                "http://overlayd/v1/hooks/qemu",
                JsonContent.Create(request, HookJsonContext.Relaxed.HookRequest),
                cts.Token);
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            throw new OverlaydUnavailableException($"no answer from overlayd at {settings.SocketPath} within {settings.Timeout.TotalMilliseconds:0} ms");
        }
        catch (HttpRequestException ex)
        {
            // .NET reports ENOENT on a unix-socket connect as "Cannot assign requested address": say what it means.
            string why = File.Exists(settings.SocketPath) ? ex.InnerException?.Message ?? ex.Message : "the socket does not exist (is overlayd running?)";
            throw new OverlaydUnavailableException($"cannot reach overlayd at {settings.SocketPath}: {why}");
        }

        using (response)
        {
            try
            {
                if (response.StatusCode is HttpStatusCode.OK or HttpStatusCode.Forbidden)
                {
                    var verdict = await response.Content.ReadFromJsonAsync(HookJsonContext.Default.HookResponse, cts.Token);
                    if (verdict is not null && verdict.Allow == (response.StatusCode == HttpStatusCode.OK))
                    {
                        return verdict;
                    }
                    throw new OverlaydUnavailableException($"overlayd answered {(int)response.StatusCode} without a matching verdict");
                }
                string detail = await response.Content.ReadAsStringAsync(cts.Token);
                throw new OverlaydUnavailableException($"overlayd answered {(int)response.StatusCode} {response.ReasonPhrase}: {Truncate(detail)}");
            }
            catch (OperationCanceledException) when (cts.IsCancellationRequested)
            {
                throw new OverlaydUnavailableException($"overlayd at {settings.SocketPath} did not finish its answer within {settings.Timeout.TotalMilliseconds:0} ms");
            }
            catch (System.Text.Json.JsonException ex)
            {
                throw new OverlaydUnavailableException($"overlayd's answer is not valid JSON: {ex.Message}");
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException)
            {
                // The connection broke while the answer was read (overlayd stopped mid-reply).
                throw new OverlaydUnavailableException($"overlayd at {settings.SocketPath} broke off its answer: {ex.Message}");
            }
        }
    }

    private static string Truncate(string s) => s.Length <= 300 ? s : s[..300] + "…";
}

/// <summary>overlayd could not give a verdict.</summary>
internal sealed class OverlaydUnavailableException(string message) : Exception(message);
