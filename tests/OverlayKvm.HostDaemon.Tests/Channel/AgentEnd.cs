using System.Net.Sockets;
using System.Text.Json.Serialization.Metadata;
using OverlayKvm.Core.Channel;
using OverlayKvm.Core.Config;

namespace OverlayKvm.HostDaemon.Tests.Channel;

/// <summary>
/// The agent's end of one domain channel, played by the test: listens where libvirt's socket would be
/// (a temp directory of its own, DOMAIN.agent.sock), accepts overlayd's <c>DomainChannelClient</c> and reads what it
/// sends. <see cref="Close"/> is what QEMU's exit looks like to overlayd; disposing also removes the directory.
/// </summary>
internal sealed class AgentEnd : IDisposable
{
    private readonly Socket _listener = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);

    private readonly string _dir = Directory.CreateTempSubdirectory("okvm-agent-end-").FullName;

    public AgentEnd(string domain = "vm1")
    {
        Path = System.IO.Path.Combine(_dir, domain + ".agent.sock");
        _listener.Bind(new UnixDomainSocketEndPoint(Path));
        _listener.Listen(1);
    }

    public string Path { get; }

    /// <summary>Accepts overlayd's connection; the returned channel owns the accepted socket.</summary>
    public async Task<ChannelConnection> AcceptAsync(CancellationToken cancellationToken, int maxMessageSize = ChannelProtocol.DefaultMaxMessageSize)
    {
        Socket accepted = await _listener.AcceptAsync(cancellationToken);
        return new ChannelConnection(new NetworkStream(accepted, ownsSocket: true), maxMessageSize);
    }

    /// <summary>Reads until a message of <paramref name="type"/> arrives (hello and heartbeats in between are skipped).</summary>
    public static async Task<T> ReadAsync<T>(ChannelConnection connection, ChannelMessageType type, JsonTypeInfo<T> info, CancellationToken cancellationToken)
        where T : class
    {
        while (true)
        {
            ChannelMessage m = await connection.ReadAsync(cancellationToken) ?? throw new IOException("overlayd closed the channel");
            if (m.Type == type)
            {
                return ChannelConnection.TryParse(m.Payload, info, out string? error) ?? throw new InvalidDataException(error);
            }
        }
    }

    /// <summary>The next configuration document overlayd pushes.</summary>
    public static Task<DomainConfigDocument> NextConfigAsync(ChannelConnection connection, CancellationToken cancellationToken) =>
        ReadAsync(connection, ChannelMessageType.Config, ChannelJsonContext.Default.DomainConfigDocument, cancellationToken);

    /// <summary>Stops listening and removes the socket, as QEMU does when the VM goes.</summary>
    public void Close()
    {
        _listener.Dispose();
        File.Delete(Path);
    }

    public void Dispose()
    {
        _listener.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}
