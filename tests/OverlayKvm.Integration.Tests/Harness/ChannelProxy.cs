using System.Net.Sockets;
using OverlayKvm.Core.Channel;

namespace OverlayKvm.Integration.Tests.Harness;

/// <summary>
/// Sits between overlayd and one agent's host channel and forwards every message both ways, except configuration
/// pushes once <see cref="HoldConfigs"/> is set: the agent keeps its last document while everything else (queries,
/// answers, heartbeats) flows — "a member defined after the last push" made deterministic.
/// </summary>
internal sealed class ChannelProxy : IAsyncDisposable
{
    private readonly Socket _listener = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
    private readonly string _agentSocket;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _run;

    public ChannelProxy(string listenPath, string agentSocket)
    {
        _agentSocket = agentSocket;
        _listener.Bind(new UnixDomainSocketEndPoint(listenPath));
        _listener.Listen(1);
        _run = Task.Run(RunAsync);
    }

    /// <summary>True: configuration messages from overlayd are dropped (counted) instead of forwarded.</summary>
    public volatile bool HoldConfigs;

    public int HeldConfigs;

    public int ForwardedToHost;

    private async Task RunAsync()
    {
        using Socket host = await _listener.AcceptAsync(_stop.Token);
        using var agent = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await agent.ConnectAsync(new UnixDomainSocketEndPoint(_agentSocket), _stop.Token);
        await using var hostSide = new ChannelConnection(new NetworkStream(host, ownsSocket: false));
        await using var agentSide = new ChannelConnection(new NetworkStream(agent, ownsSocket: false));
        await Task.WhenAny(PumpAsync(hostSide, agentSide, toHost: false), PumpAsync(agentSide, hostSide, toHost: true));
    }

    private async Task PumpAsync(ChannelConnection from, ChannelConnection to, bool toHost)
    {
        try
        {
            while (await from.ReadAsync(_stop.Token) is { } message)
            {
                if (!toHost && message.Type == ChannelMessageType.Config && HoldConfigs)
                {
                    Interlocked.Increment(ref HeldConfigs);
                    continue;
                }
                if (toHost)
                {
                    Interlocked.Increment(ref ForwardedToHost);
                }
                await to.WriteAsync(message.Type, message.Payload, _stop.Token);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException)
        {
            // One side went away: the proxy ends, as a broken channel would.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        try
        {
            await _run;
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException)
        {
            // Never connected, or torn down mid-way: nothing to clean up beyond the sockets.
        }
        _stop.Dispose();
    }
}
