using System.Net;
using System.Net.Sockets;
using System.Text;

namespace OverlayKvm.Integration.Tests.Harness;

/// <summary>
/// A minimal HTTP exchange on a fixed port between two app addresses, each socket opened in its VM's namespace
/// and bound to the app's overlay address: the server answers one GET with "200 OK" and a body. Used where a
/// policy names the port (TcpTransfer picks a random one).
/// </summary>
internal sealed class TcpExchange : IDisposable
{
    public const string Body = "hello from the overlay";
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _serve;
    private long _served;

    private TcpExchange(Socket listener)
    {
        _listener = listener;
        _serve = Task.Run(ServeAsync);
    }

    public long Served => Interlocked.Read(ref _served);

    /// <summary>Starts an HTTP responder on address:port inside the namespace.</summary>
    public static TcpExchange Listen(NetNamespace ns, string address, int port)
    {
        var listener = ns.OpenSocket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Bind(new IPEndPoint(IPAddress.Parse(address), port));
        listener.Listen(16);
        return new TcpExchange(listener);
    }

    /// <summary>GET / from clientAddress; the response text, or null when no connection was made within the timeout.</summary>
    public static async Task<string?> GetAsync(NetNamespace ns, string clientAddress, string serverAddress, int port, TimeSpan timeout)
    {
        using var client = ns.OpenSocket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        client.Bind(new IPEndPoint(IPAddress.Parse(clientAddress), 0));
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await client.ConnectAsync(new IPEndPoint(IPAddress.Parse(serverAddress), port), cts.Token);
            await client.SendAsync(Encoding.ASCII.GetBytes($"GET / HTTP/1.0\r\nHost: {serverAddress}\r\n\r\n"), SocketFlags.None, cts.Token);
            var response = new StringBuilder();
            var buffer = new byte[4096];
            int n;
            while ((n = await client.ReceiveAsync(buffer, SocketFlags.None, cts.Token)) > 0)
            {
                response.Append(Encoding.ASCII.GetString(buffer, 0, n));
            }
            return response.ToString();
        }
        catch (OperationCanceledException)
        {
            return null;
        }
        catch (SocketException)
        {
            return null;
        }
    }

    /// <summary>Streams <paramref name="bytes"/> to the server's port (which discards after the request line); true when all were sent and acknowledged by close.</summary>
    public static async Task<bool> PushAsync(NetNamespace ns, string clientAddress, string serverAddress, int port, int bytes, TimeSpan timeout)
    {
        using var client = ns.OpenSocket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        client.Bind(new IPEndPoint(IPAddress.Parse(clientAddress), 0));
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await client.ConnectAsync(new IPEndPoint(IPAddress.Parse(serverAddress), port), cts.Token);
            var chunk = new byte[65536];
            for (int sent = 0; sent < bytes; sent += chunk.Length)
            {
                await client.SendAsync(chunk, SocketFlags.None, cts.Token);
            }
            client.Shutdown(SocketShutdown.Send);
            var buffer = new byte[4096];
            while (await client.ReceiveAsync(buffer, SocketFlags.None, cts.Token) > 0)
            {
            }
            return true;
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException)
        {
            return false;
        }
    }

    private async Task ServeAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket connection;
            try
            {
                connection = await _listener.AcceptAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            _ = Task.Run(async () =>
            {
                using (connection)
                {
                    try
                    {
                        var buffer = new byte[65536];
                        // Read until the client stops sending (a GET ends with a blank line; a push with shutdown).
                        var head = new StringBuilder();
                        int n;
                        while ((n = await connection.ReceiveAsync(buffer, SocketFlags.None, _stop.Token)) > 0)
                        {
                            if (head.Length < 1024)
                            {
                                head.Append(Encoding.ASCII.GetString(buffer, 0, Math.Min(n, 1024)));
                            }
                            if (head.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
                            {
                                break;
                            }
                        }
                        await connection.SendAsync(Encoding.ASCII.GetBytes($"HTTP/1.0 200 OK\r\nContent-Length: {Body.Length}\r\n\r\n{Body}"), SocketFlags.None, _stop.Token);
                        connection.Shutdown(SocketShutdown.Both);
                        Interlocked.Increment(ref _served);
                    }
                    catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
                    {
                        // The client went away (or the test is over): nothing to answer.
                    }
                }
            });
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Dispose();
        _serve.Wait(TimeSpan.FromSeconds(5));
    }
}
