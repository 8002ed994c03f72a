using System.Net.Sockets;
using System.Text.Json;
using OverlayKvm.Core.Channel;
using OverlayKvm.GuestAgent.Channel;
using OverlayKvm.GuestAgent.Engine;

namespace OverlayKvm.GuestAgent.Tests.Engine;

/// <summary>The agent's hypercall client: answers are matched by request id; unmatched or missing answers are safe.</summary>
public sealed class EngineHypercallsTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("okvm-hc-").FullName;
    private readonly HostChannelLink _link = new();
    private readonly CancellationTokenSource _cts = new(TimeSpan.FromSeconds(30));
    private Socket? _listener;
    private ChannelConnection? _agentSide;
    private ChannelConnection? _hostSide;
    private EngineHypercalls _hypercalls = null!;
    private Task? _agentLoop;

    public async Task InitializeAsync()
    {
        string path = Path.Combine(_dir, "c.sock");
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(path));
        _listener.Listen(1);
        var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await client.ConnectAsync(new UnixDomainSocketEndPoint(path));
        Socket accepted = await _listener.AcceptAsync();
        _agentSide = new ChannelConnection(new NetworkStream(client, ownsSocket: true));
        _hostSide = new ChannelConnection(new NetworkStream(accepted, ownsSocket: true));
        _hypercalls = new EngineHypercalls(_link);
        _link.Attach(_agentSide);
        // What HostChannelService does: offer every message of the handler's types to it.
        _agentLoop = Task.Run(async () =>
        {
            while (await _agentSide.ReadAsync(_cts.Token) is { } m)
            {
                await _hypercalls.HandleAsync(_agentSide, m, _cts.Token);
            }
        });
    }

    public async Task DisposeAsync()
    {
        await _cts.CancelAsync();
        if (_hostSide is not null) await _hostSide.DisposeAsync();
        if (_agentSide is not null) await _agentSide.DisposeAsync();
        try
        {
            if (_agentLoop is not null) await _agentLoop;
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException)
        {
            // The loop ends because the test closed the channel.
        }
        _listener?.Dispose();
        _cts.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private async Task<EngineAddressRequest> HostReadsAsync(ChannelMessageType expected)
    {
        ChannelMessage m = await _hostSide!.ReadAsync(_cts.Token) ?? throw new IOException("agent closed");
        Assert.Equal(expected, m.Type);
        return ChannelConnection.TryParse(m.Payload, ChannelJsonContext.Default.EngineAddressRequest, out string? e) ?? throw new InvalidDataException(e);
    }

    [Fact]
    public async Task Query_AnswersMatchedById_StrayAnswerCountedAndIgnored()
    {
        Task<EngineQueryAnswer?> call = _hypercalls.QueryAsync("10.1.0.2", _cts.Token);
        EngineAddressRequest request = await HostReadsAsync(ChannelMessageType.Query);
        Assert.Equal("10.1.0.2", request.Address);

        // A stray answer with another id first: must not complete the call.
        await _hostSide!.WriteJsonAsync(ChannelMessageType.Query, new EngineQueryAnswer(request.Id + 100, true, "Accessible", "web", 5, 0, "x", 1, 1),
            ChannelJsonContext.Default.EngineQueryAnswer, _cts.Token);
        await _hostSide.WriteJsonAsync(ChannelMessageType.Query, new EngineQueryAnswer(request.Id, true, "Accessible", "web", 1, 0, "overlaykvm-web", 9, 4),
            ChannelJsonContext.Default.EngineQueryAnswer, _cts.Token);

        EngineQueryAnswer? answer = await call;
        Assert.NotNull(answer);
        Assert.Equal((request.Id, 1, 9UL, 4UL), (answer!.Id, answer.Slot, answer.Generation, answer.DirectoryVersion));
        Assert.Equal(1, _hypercalls.UnmatchedAnswers);
    }

    [Fact]
    public async Task Register_GarbageAnswer_CountedAndTheCallTimesOutToNull()
    {
        Task<EngineRegisterAnswer?> call = _hypercalls.RegisterAsync("10.1.0.1", _cts.Token);
        await HostReadsAsync(ChannelMessageType.Register);
        await _hostSide!.WriteAsync(ChannelMessageType.Register, "{not json"u8.ToArray(), _cts.Token);
        Assert.Null(await call);
        Assert.Equal(1, _hypercalls.UnmatchedAnswers);
    }

    [Fact]
    public async Task DirectoryChangedPush_RaisesTheEvent()
    {
        var seen = new TaskCompletionSource<(string, ulong)>();
        _hypercalls.DirectoryChanged += (g, v) => seen.TrySetResult((g, v));
        await _hostSide!.WriteJsonAsync(ChannelMessageType.EngineDirectoryChanged, new EngineDirectoryChangedMessage("web", 12),
            ChannelJsonContext.Default.EngineDirectoryChangedMessage, _cts.Token);
        Assert.Equal(("web", 12UL), await seen.Task.WaitAsync(_cts.Token));
    }

    [Fact]
    public async Task NoHostConnected_CallReturnsNullAtOnce()
    {
        _link.Attach(null);
        Assert.Null(await _hypercalls.QueryAsync("10.1.0.2", _cts.Token));
        Assert.False(await _hypercalls.HeartbeatAsync(_cts.Token));
    }
}
