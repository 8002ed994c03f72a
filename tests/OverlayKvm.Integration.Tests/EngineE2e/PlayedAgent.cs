using System.Net.Sockets;
using System.Text.Json;
using OverlayKvm.Core.Channel;

namespace OverlayKvm.Integration.Tests.EngineE2e;

/// <summary>
/// The test playing a domain's agent at the channel level: listens where overlayd looks for the domain's channel
/// socket, accepts overlayd's connection and exchanges raw channel messages (engine hypercalls included), so a
/// test can send what a hostile or foreign guest would.
/// </summary>
internal sealed class PlayedAgent : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly string _path;
    private ChannelConnection? _connection;

    public PlayedAgent(string socketPath)
    {
        _path = socketPath;
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(socketPath));
        _listener.Listen(1);
    }

    public ChannelConnection Connection => _connection ?? throw new InvalidOperationException("overlayd has not connected yet");

    /// <summary>Waits for overlayd to connect, answers its hello and acknowledges its first document.</summary>
    public async Task AcceptAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        Socket socket = await _listener.AcceptAsync(cts.Token);
        _connection = new ChannelConnection(new NetworkStream(socket, ownsSocket: true));
        await _connection.WriteJsonAsync(ChannelMessageType.Hello, new HelloMessage(ChannelProtocol.Version, "agent", "played by a test"),
            ChannelJsonContext.Default.HelloMessage, cts.Token);
        while (true)
        {
            ChannelMessage m = await _connection.ReadAsync(cts.Token) ?? throw new IOException("overlayd closed the channel");
            if (m.Type == ChannelMessageType.Config)
            {
                var doc = ChannelConnection.TryParse(m.Payload, ChannelJsonContext.Default.DomainConfigDocument, out string? error)
                    ?? throw new InvalidDataException(error);
                await _connection.WriteJsonAsync(ChannelMessageType.ConfigAck, new ConfigAckMessage(doc.Version, true, null),
                    ChannelJsonContext.Default.ConfigAckMessage, cts.Token);
                return;
            }
        }
    }

    /// <summary>Sends an engine request and returns the answer of the same type (skipping pushes and other messages).</summary>
    public async Task<T> CallAsync<T>(ChannelMessageType type, ReadOnlyMemory<byte> request, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> answerType)
        where T : class
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await Connection.WriteAsync(type, request, cts.Token);
        while (true)
        {
            ChannelMessage m = await Connection.ReadAsync(cts.Token) ?? throw new IOException("overlayd closed the channel");
            if (m.Type == type)
            {
                return ChannelConnection.TryParse(m.Payload, answerType, out string? error) ?? throw new InvalidDataException(error);
            }
        }
    }

    public Task<EngineRegisterAnswer> RegisterAsync(long id, string address) =>
        CallAsync(ChannelMessageType.Register, Request(id, address), ChannelJsonContext.Default.EngineRegisterAnswer);

    public Task<EngineQueryAnswer> QueryAsync(long id, string address) =>
        CallAsync(ChannelMessageType.Query, Request(id, address), ChannelJsonContext.Default.EngineQueryAnswer);

    public static byte[] Request(long id, string address) =>
        JsonSerializer.SerializeToUtf8Bytes(new EngineAddressRequest(id, address), ChannelJsonContext.Default.EngineAddressRequest);

    public async ValueTask DisposeAsync()
    {
        if (_connection is not null)
        {
            await _connection.DisposeAsync();
        }
        _listener.Dispose();
        File.Delete(_path);
    }
}
