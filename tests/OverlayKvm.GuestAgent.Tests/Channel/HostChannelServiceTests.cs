using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OverlayKvm.Core.Channel;
using OverlayKvm.GuestAgent.Channel;
using OverlayKvm.GuestAgent.Config;
using OverlayKvm.GuestAgent.Hosting;
using OverlayKvm.GuestAgent.Pipeline;
using OverlayKvm.GuestAgent.Tests.Doubles;
using OverlayKvm.GuestAgent.Tun;
using OverlayKvm.GuestAgent.Policy;
using OverlayKvm.TestSupport;

namespace OverlayKvm.GuestAgent.Tests.Channel;

/// <summary>The agent's channel end against a host double over a real unix socket pair.</summary>
public sealed class HostChannelServiceTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "ovk-agent-test-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private sealed class EchoRegisterHandler : IHostChannelHandler
    {
        public IReadOnlyCollection<ChannelMessageType> MessageTypes => [ChannelMessageType.Register];

        public Task HandleAsync(ChannelConnection connection, ChannelMessage message, CancellationToken cancellationToken) =>
            connection.WriteAsync(ChannelMessageType.Register, message.Payload, cancellationToken).AsTask();
    }

    private (HostChannelService Service, AgentState State) NewService(HostChannelLink? link = null, IHostChannelHandler[]? handlers = null) =>
        AgentChannel.NewService(_dir, link, handlers);

    private Task<ChannelConnection> ConnectHostAsync() => AgentChannel.ConnectHostAsync(_dir);

    private static async Task<ChannelMessage> NextAsync(ChannelConnection c)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        return await c.ReadAsync(cts.Token) ?? throw new IOException("agent closed the channel");
    }

    [Fact]
    public async Task Channel_HelloConfigUnknownAndBadPayload_AnsweredAndCounted_ChannelSurvives()
    {
        Directory.CreateDirectory(_dir);
        var (service, state) = NewService();
        using var cts = new CancellationTokenSource();
        await service.StartAsync(cts.Token);
        await using var host = await ConnectHostAsync();

        var hello = await NextAsync(host);
        Assert.Equal(ChannelMessageType.Hello, hello.Type);
        Assert.Equal(ChannelProtocol.Version, ChannelConnection.TryParse(hello.Payload, ChannelJsonContext.Default.HelloMessage, out _)!.Protocol);

        await host.WriteAsync((ChannelMessageType)77, new byte[] { 1, 2, 3 }, default);
        var error = await NextAsync(host);
        Assert.Equal(ChannelMessageType.Error, error.Type);
        Assert.Equal("unknown-type", ChannelConnection.TryParse(error.Payload, ChannelJsonContext.Default.ErrorMessage, out _)!.Code);

        await host.WriteAsync(ChannelMessageType.Config, "{\"apps\": null"u8.ToArray(), default);
        var badAck = ChannelConnection.TryParse((await NextAsync(host)).Payload, ChannelJsonContext.Default.ConfigAckMessage, out _)!;
        Assert.False(badAck.Applied);

        var doc = new TwoAgents().Doc("vmA", 5);
        await host.WriteJsonAsync(ChannelMessageType.Config, doc, ChannelJsonContext.Default.DomainConfigDocument, default);
        var ack = ChannelConnection.TryParse((await NextAsync(host)).Payload, ChannelJsonContext.Default.ConfigAckMessage, out _)!;
        Assert.True(ack.Applied, ack.Error);
        Assert.Equal(5, state.Current!.Version);

        await host.WriteJsonAsync(ChannelMessageType.Config, doc with { Version = 4 }, ChannelJsonContext.Default.DomainConfigDocument, default);
        var older = ChannelConnection.TryParse((await NextAsync(host)).Payload, ChannelJsonContext.Default.ConfigAckMessage, out _)!;
        Assert.False(older.Applied);
        Assert.Contains("older", older.Error);

        await host.WriteAsync(ChannelMessageType.Heartbeat, ReadOnlyMemory<byte>.Empty, default);
        Assert.Equal(ChannelMessageType.Heartbeat, (await NextAsync(host)).Type);
        Assert.Equal(3, service.RejectedMessages);

        await cts.CancelAsync();
        await service.StopAsync(default);
    }

    [Fact]
    public async Task Channel_RegisteredHandlerGetsItsType_AndLinkSendsWhileConnected()
    {
        Directory.CreateDirectory(_dir);
        var link = new HostChannelLink();
        var (service, _) = NewService(link, [new EchoRegisterHandler()]);
        Assert.False(await link.TrySendAsync(ChannelMessageType.Query, new byte[] { 1 }, default));
        using var cts = new CancellationTokenSource();
        await service.StartAsync(cts.Token);
        await using var host = await ConnectHostAsync();
        Assert.Equal(ChannelMessageType.Hello, (await NextAsync(host)).Type);

        await host.WriteAsync(ChannelMessageType.Register, new byte[] { 9, 8 }, default);
        var echoed = await NextAsync(host);
        Assert.Equal(ChannelMessageType.Register, echoed.Type);
        Assert.Equal(new byte[] { 9, 8 }, echoed.Payload.ToArray());

        Assert.True(link.IsConnected);
        Assert.True(await link.TrySendAsync(ChannelMessageType.Query, new byte[] { 7 }, default));
        var query = await NextAsync(host);
        Assert.Equal(ChannelMessageType.Query, query.Type);
        Assert.Equal(0, service.RejectedMessages);

        await cts.CancelAsync();
        await service.StopAsync(default);
    }
}
