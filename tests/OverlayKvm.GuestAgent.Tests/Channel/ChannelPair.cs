using System.Net.Sockets;
using OverlayKvm.Core.Channel;
using OverlayKvm.GuestAgent.Channel;

namespace OverlayKvm.GuestAgent.Tests.Channel;

/// <summary>
/// A host channel over a real unix socket: the agent's end runs a read loop that offers every message to one
/// <see cref="IHostChannelHandler"/> (what HostChannelService does), the host's end is read and written by the test.
/// </summary>
internal sealed class ChannelPair : IAsyncDisposable
{
    private readonly string _dir;
    private readonly Socket _listener;
    private Task? _agentLoop;

    private ChannelPair(string dir, Socket listener, ChannelConnection agentSide, ChannelConnection hostSide)
    {
        _dir = dir;
        _listener = listener;
        AgentSide = agentSide;
        HostSide = hostSide;
    }

    public CancellationTokenSource Cancellation { get; } = new(TimeSpan.FromSeconds(30));

    public ChannelConnection AgentSide { get; }

    public ChannelConnection HostSide { get; }

    public static async Task<ChannelPair> ConnectAsync(string tag)
    {
        string dir = Directory.CreateTempSubdirectory($"okvm-{tag}-").FullName;
        string path = Path.Combine(dir, "c.sock");
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(1);
        var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await client.ConnectAsync(new UnixDomainSocketEndPoint(path));
        Socket accepted = await listener.AcceptAsync();
        return new ChannelPair(dir, listener, new ChannelConnection(new NetworkStream(client, ownsSocket: true)),
            new ChannelConnection(new NetworkStream(accepted, ownsSocket: true)));
    }

    /// <summary>Starts the agent's read loop handing every message to <paramref name="handler"/>.</summary>
    public void Serve(IHostChannelHandler handler) =>
        _agentLoop = Task.Run(async () =>
        {
            while (await AgentSide.ReadAsync(Cancellation.Token) is { } m)
            {
                await handler.HandleAsync(AgentSide, m, Cancellation.Token);
            }
        });

    /// <summary>The next message the agent sent to the host.</summary>
    public async Task<ChannelMessage> HostReadsAsync(ChannelMessageType expected)
    {
        ChannelMessage m = await HostSide.ReadAsync(Cancellation.Token) ?? throw new IOException("agent closed");
        Assert.Equal(expected, m.Type);
        return m;
    }

    public async ValueTask DisposeAsync()
    {
        await Cancellation.CancelAsync();
        await HostSide.DisposeAsync();
        await AgentSide.DisposeAsync();
        try
        {
            if (_agentLoop is not null) await _agentLoop;
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException)
        {
            // The loop ends because the test closed the channel.
        }
        _listener.Dispose();
        Cancellation.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}
