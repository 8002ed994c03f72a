using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace OverlayKvm.GuestAgent.Control;

/// <summary>Talks to a running agent's control socket: one JSON request line, one JSON response line.</summary>
internal static class ControlClient
{
    public static async Task<ControlResponse> SendAsync(string socketPath, ControlRequest request, CancellationToken cancellationToken)
    {
        if (!File.Exists(socketPath))
        {
            throw new IOException($"no overlay agent control socket at {socketPath} (is `overlay-agent serve` running? --control names another path)");
        }
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException ex)
        {
            throw new IOException($"cannot reach the overlay agent at {socketPath}: {ex.Message} (is `overlay-agent serve` running?)", ex);
        }
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        byte[] line = JsonSerializer.SerializeToUtf8Bytes(request, AgentJsonContext.Default.ControlRequest);
        await stream.WriteAsync(line, cancellationToken).ConfigureAwait(false);
        await stream.WriteAsync("\n"u8.ToArray(), cancellationToken).ConfigureAwait(false);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        string? response = await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false)
            ?? throw new IOException($"overlay agent at {socketPath} closed the connection without answering");
        return JsonSerializer.Deserialize(response, AgentJsonContext.Default.ControlResponse)
            ?? throw new IOException($"overlay agent at {socketPath} answered JSON null");
    }
}
