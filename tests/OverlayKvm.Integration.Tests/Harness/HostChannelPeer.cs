using System.Net.Sockets;
using OverlayKvm.Core.Channel;
using OverlayKvm.Core.Config;

namespace OverlayKvm.Integration.Tests.Harness;

/// <summary>The test playing overlayd: connects to an agent's channel socket, says hello, pushes documents, reads acks.</summary>
internal sealed class HostChannelPeer : IAsyncDisposable
{
    private readonly ChannelConnection _connection;

    private HostChannelPeer(ChannelConnection connection)
    {
        _connection = connection;
    }

    public static async Task<HostChannelPeer> ConnectAsync(string socketPath)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath));
        var peer = new HostChannelPeer(new ChannelConnection(new NetworkStream(socket, ownsSocket: true)));
        await peer._connection.WriteJsonAsync(ChannelMessageType.Hello, new HelloMessage(ChannelProtocol.Version, "host", "integration test"),
            ChannelJsonContext.Default.HelloMessage, CancellationToken.None);
        return peer;
    }

    public ChannelConnection Connection => _connection;

    /// <summary>Pushes doc and waits for its ConfigAck (skipping hello, heartbeats and app events).</summary>
    public async Task<ConfigAckMessage> PushAsync(DomainConfigDocument doc)
    {
        await _connection.WriteJsonAsync(ChannelMessageType.Config, doc, ChannelJsonContext.Default.DomainConfigDocument, CancellationToken.None);
        return await ReadUntilAsync(ChannelMessageType.ConfigAck, ChannelJsonContext.Default.ConfigAckMessage);
    }

    public async Task<T> ReadUntilAsync<T>(ChannelMessageType type, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> info)
        where T : class
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (true)
        {
            ChannelMessage? m = await _connection.ReadAsync(cts.Token) ?? throw new IOException("agent closed the channel");
            if (m.Value.Type == type)
            {
                return ChannelConnection.TryParse(m.Value.Payload, info, out string? error) ?? throw new InvalidDataException(error);
            }
        }
    }

    public async Task PushAppliedAsync(DomainConfigDocument doc)
    {
        ConfigAckMessage ack = await PushAsync(doc);
        Assert.True(ack.Applied, $"agent refused configuration version {doc.Version}: {ack.Error}");
        Assert.Equal(doc.Version, ack.Version);
    }

    public ValueTask DisposeAsync() => _connection.DisposeAsync();
}
