using System.Net.Sockets;
using System.Text;

namespace OverlayKvm.Integration.Tests.E2e;

/// <summary>
/// The host end of a guest's virtio-serial channel: a client of the unix socket QEMU listens on
/// (<c>&lt;source mode='bind'/&gt;</c>), exchanging newline-terminated lines, every read under a deadline.
/// </summary>
internal sealed class AgentChannel : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly StreamReader _reader;
    private readonly string _path;

    private AgentChannel(Socket socket, string path)
    {
        _socket = socket;
        _path = path;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _reader = new StreamReader(_stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: false);
    }

    /// <summary>Connects, retrying while QEMU has not created or is not yet accepting on the socket.</summary>
    public static async Task<AgentChannel> ConnectAsync(string socketPath, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath));
                return new AgentChannel(socket, socketPath);
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                // Not there yet (ENOENT) or not listening yet (ECONNREFUSED): QEMU is still starting.
                socket.Dispose();
                await Task.Delay(20);
            }
            catch (SocketException e)
            {
                socket.Dispose();
                throw new IOException($"cannot connect to the agent channel socket {socketPath} within {timeout.TotalSeconds} s: {e.SocketErrorCode} ({e.Message})", e);
            }
        }
    }

    public async Task WriteLineAsync(string line)
    {
        var bytes = Encoding.UTF8.GetBytes(line + "\n");
        await _stream.WriteAsync(bytes);
        await _stream.FlushAsync();
    }

    /// <summary>The next line from the guest; throws naming the socket on timeout or when the guest closed it.</summary>
    public async Task<string> ReadLineAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        // The guest is untrusted: a line is bounded, never an unbounded buffer of whatever it sends.
        var line = new StringBuilder();
        var one = new char[1];
        try
        {
            while (true)
            {
                if (await _reader.ReadAsync(one.AsMemory(), cts.Token) == 0)
                    throw new EndOfStreamException($"the guest side of {_path} closed before ending a line (got '{line}')");
                if (one[0] == '\n') return line.ToString().TrimEnd('\r');
                if (line.Length == MaxLineChars)
                    throw new InvalidDataException($"the guest sent a line longer than {MaxLineChars} characters on {_path}");
                line.Append(one[0]);
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"no complete line from the guest on {_path} within {timeout.TotalSeconds} s (got '{line}')");
        }
    }

    public const int MaxLineChars = 64 * 1024;

    /// <summary>Sends one command and returns the guest's one-line answer.</summary>
    public async Task<string> RequestAsync(string command, TimeSpan timeout)
    {
        await WriteLineAsync(command);
        return await ReadLineAsync(timeout);
    }

    public ValueTask DisposeAsync()
    {
        _reader.Dispose();
        _stream.Dispose();
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }
}
