using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace OverlayKvm.QemuHook;

/// <summary>
/// One POST to overlayd over its admin unix socket, bounded by the hook timeout. Synchronous on one socket with
/// kernel timeouts (SO_SNDTIMEO bounds connect and send on a unix socket, SO_RCVTIMEO each receive): the hook
/// starts no thread pool, timer or connection pool, which HttpClient would (docs/hook.md, "Latency").
/// </summary>
internal static class OverlaydClient
{
    /// <summary>overlayd's answer is a short JSON verdict; anything longer is not one.</summary>
    private const int MaxAnswerBytes = 64 * 1024;

    /// <summary>overlayd's verdict, or an exception describing why overlayd could not be asked.</summary>
    /// <exception cref="OverlaydUnavailableException">Connect failed, timed out, or the answer was not a verdict.</exception>
    public static HookResponse Ask(HookSettings settings, HookRequest request)
    {
        long deadline = Environment.TickCount64 + (long)settings.Timeout.TotalMilliseconds;
        byte[] body = request.ToJson();
        byte[] head = Encoding.ASCII.GetBytes(
            $"POST /v1/hooks/qemu HTTP/1.1\r\nHost: overlayd\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n");

        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.SendTimeout = Remaining(deadline);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(settings.SocketPath));
        }
        catch (SocketException ex)
        {
            // .NET reports ENOENT on a unix-socket connect as "Cannot assign requested address": say what it means.
            string why = IsTimeout(ex) ? $"no connection within {settings.Timeout.TotalMilliseconds:0} ms"
                : File.Exists(settings.SocketPath) ? ex.Message : "the socket does not exist (is overlayd running?)";
            throw new OverlaydUnavailableException($"cannot reach overlayd at {settings.SocketPath}: {why}");
        }

        HttpAnswer answer;
        try
        {
            socket.SendTimeout = Remaining(deadline);
            socket.Send(head);
            socket.Send(body);
            answer = Receive(socket, deadline);
        }
        catch (SocketException ex) when (IsTimeout(ex))
        {
            throw new OverlaydUnavailableException($"no answer from overlayd at {settings.SocketPath} within {settings.Timeout.TotalMilliseconds:0} ms");
        }
        catch (Exception ex) when (ex is SocketException or FormatException)
        {
            // The connection broke, or what came back is not HTTP (overlayd stopped mid-reply).
            throw new OverlaydUnavailableException($"overlayd at {settings.SocketPath} broke off its answer: {ex.Message}");
        }

        if (answer.Status is not (200 or 403))
        {
            string detail = Encoding.UTF8.GetString(answer.Body);
            throw new OverlaydUnavailableException($"overlayd answered {answer.Status} {answer.Reason}: {Truncate(detail)}");
        }
        HookResponse verdict;
        try
        {
            verdict = HookResponse.Parse(answer.Body);
        }
        catch (JsonException ex)
        {
            throw new OverlaydUnavailableException($"overlayd's answer is not valid JSON: {ex.Message}");
        }
        if (verdict.Allow != (answer.Status == 200))
        {
            throw new OverlaydUnavailableException($"overlayd answered {answer.Status} without a matching verdict");
        }
        return verdict;
    }

    /// <summary>Receives until the answer is complete (or the peer closes), each wait bounded by what is left of the deadline.</summary>
    private static HttpAnswer Receive(Socket socket, long deadline)
    {
        var buffer = new byte[4096];
        int length = 0;
        while (true)
        {
            if (length == buffer.Length)
            {
                if (buffer.Length >= MaxAnswerBytes)
                {
                    throw new FormatException($"the answer exceeds {MaxAnswerBytes} bytes");
                }
                Array.Resize(ref buffer, buffer.Length * 2);
            }
            socket.ReceiveTimeout = Remaining(deadline);
            int n = socket.Receive(buffer, length, buffer.Length - length, SocketFlags.None);
            length += n;
            if (HttpAnswerParser.TryParse(buffer.AsSpan(0, length), closed: n == 0) is { } answer)
            {
                return answer;
            }
        }
    }

    /// <summary>Milliseconds left (at least 1: 0 would mean "no timeout" to the kernel); past the deadline, a timeout.</summary>
    private static int Remaining(long deadline)
    {
        long left = deadline - Environment.TickCount64;
        return left > 0 ? (int)Math.Min(left, int.MaxValue) : throw new SocketException((int)SocketError.TimedOut);
    }

    private static bool IsTimeout(SocketException ex) => ex.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock;

    private static string Truncate(string s) => s.Length <= 300 ? s : s[..300] + "…";
}

/// <summary>overlayd could not give a verdict.</summary>
internal sealed class OverlaydUnavailableException(string message) : Exception(message);
