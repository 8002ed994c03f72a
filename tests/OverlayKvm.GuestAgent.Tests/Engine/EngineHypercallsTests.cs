using System.Text.Json;
using OverlayKvm.Core.Channel;
using OverlayKvm.GuestAgent.Channel;
using OverlayKvm.GuestAgent.Engine;
using OverlayKvm.GuestAgent.Tests.Channel;

namespace OverlayKvm.GuestAgent.Tests.Engine;

/// <summary>The agent's hypercall client: answers are matched by request id; unmatched or missing answers are safe.</summary>
public sealed class EngineHypercallsTests : IAsyncLifetime
{
    private readonly HostChannelLink _link = new();
    private ChannelPair _pair = null!;
    private EngineHypercalls _hypercalls = null!;

    private CancellationToken Token => _pair.Cancellation.Token;

    public async Task InitializeAsync()
    {
        _pair = await ChannelPair.ConnectAsync("hc");
        _hypercalls = new EngineHypercalls(_link);
        _link.Attach(_pair.AgentSide);
        _pair.Serve(_hypercalls);
    }

    public async Task DisposeAsync() => await _pair.DisposeAsync();

    private async Task<EngineAddressRequest> HostReadsAsync(ChannelMessageType expected)
    {
        ChannelMessage m = await _pair.HostReadsAsync(expected);
        return ChannelConnection.TryParse(m.Payload, ChannelJsonContext.Default.EngineAddressRequest, out string? e) ?? throw new InvalidDataException(e);
    }

    [Fact]
    public async Task Query_AnswersMatchedById_StrayAnswerCountedAndIgnored()
    {
        Task<EngineQueryAnswer?> call = _hypercalls.QueryAsync("10.1.0.2", Token);
        EngineAddressRequest request = await HostReadsAsync(ChannelMessageType.Query);
        Assert.Equal("10.1.0.2", request.Address);

        // A stray answer with another id first: must not complete the call.
        await _pair.HostSide.WriteJsonAsync(ChannelMessageType.Query, new EngineQueryAnswer(request.Id + 100, true, "Accessible", "web", 5, 0, "x", 1, 1),
            ChannelJsonContext.Default.EngineQueryAnswer, Token);
        await _pair.HostSide.WriteJsonAsync(ChannelMessageType.Query, new EngineQueryAnswer(request.Id, true, "Accessible", "web", 1, 0, "overlaykvm-web", 9, 4),
            ChannelJsonContext.Default.EngineQueryAnswer, Token);

        EngineQueryAnswer? answer = await call;
        Assert.NotNull(answer);
        Assert.Equal((request.Id, 1, 9UL, 4UL), (answer!.Id, answer.Slot, answer.Generation, answer.DirectoryVersion));
        Assert.Equal(1, _hypercalls.UnmatchedAnswers);
    }

    [Fact]
    public async Task Register_GarbageAnswer_CountedAndTheCallTimesOutToNull()
    {
        Task<EngineRegisterAnswer?> call = _hypercalls.RegisterAsync("10.1.0.1", Token);
        await HostReadsAsync(ChannelMessageType.Register);
        await _pair.HostSide.WriteAsync(ChannelMessageType.Register, "{not json"u8.ToArray(), Token);
        Assert.Null(await call);
        Assert.Equal(1, _hypercalls.UnmatchedAnswers);
    }

    [Fact]
    public async Task DirectoryChangedPush_RaisesTheEvent()
    {
        var seen = new TaskCompletionSource<(string, ulong)>();
        _hypercalls.DirectoryChanged += (g, v) => seen.TrySetResult((g, v));
        await _pair.HostSide.WriteJsonAsync(ChannelMessageType.EngineDirectoryChanged, new EngineDirectoryChangedMessage("web", 12),
            ChannelJsonContext.Default.EngineDirectoryChangedMessage, Token);
        Assert.Equal(("web", 12UL), await seen.Task.WaitAsync(Token));
    }

    [Fact]
    public async Task NoHostConnected_CallReturnsNullAtOnce()
    {
        _link.Attach(null);
        Assert.Null(await _hypercalls.QueryAsync("10.1.0.2", Token));
        Assert.False(await _hypercalls.HeartbeatAsync(Token));
    }
}
