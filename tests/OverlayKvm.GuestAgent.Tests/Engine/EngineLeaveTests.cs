using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using OverlayKvm.Core.Channel;
using OverlayKvm.Core.Crypto;
using OverlayKvm.Core.SharedMemory;
using OverlayKvm.GuestAgent.Engine;
using OverlayKvm.GuestAgent.Tests.Channel;
using OverlayKvm.TestSupport;

namespace OverlayKvm.GuestAgent.Tests.Engine;

/// <summary>
/// Leaving the engine before the host unplugs the regions (live migration): the agent answers only once nothing of
/// the regions is mapped in this process (a mapped BAR whose device goes gives SIGBUS), and joins when told.
/// </summary>
public sealed class EngineLeaveTests : IDisposable
{
    private readonly SharedRegion _region = new();

    public void Dispose() => _region.Dispose();

    [Fact]
    public async Task DetachAllAsync_CompletesOnlyOnceEveryMappingOfTheRegionIsGone_IncludingOneRetiredBefore()
    {
        string path = Path.Combine(_region.Directory, SharedRegion.Name);
        var opener = new EngineRegionOpener(_region.Directory);
        using var engine = new EngineDatapath();
        uint groupId = OverlayIds.GroupId("web");
        engine.Attach(new EngineAttachment("web", groupId, Open(opener), 0));
        // A re-attach (new generation, new slot) retires the first attachment: still mapped for the retire grace.
        engine.Attach(new EngineAttachment("web", groupId, Open(opener), 0));
        Assert.Equal(3, MappingsOf(path)); // the daemon's own mapping + two of the agent's

        Task<int> leaving = engine.DetachAllAsync();
        Assert.False(engine.TryGet(groupId, out _)); // senders fall back to the sealed path at once
        Assert.False(leaving.IsCompleted);           // but the mappings stay until no worker can hold them
        Assert.Equal(1, await leaving.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(1, MappingsOf(path));           // only the daemon's: nothing of the agent's left
    }

    [Fact]
    public async Task LeaveRequest_AnsweredWithTheSameIdAfterTheLeaveCompleted_JoinAllowsAttachingAgain()
    {
        var moves = new FakeMoves();
        await using ChannelPair pair = await ChannelPair.ConnectAsync("leave");
        pair.Serve(new EngineMoveHandler(moves, NullLogger<EngineMoveHandler>.Instance));

        await pair.HostSide.WriteJsonAsync(ChannelMessageType.EngineLeave, new EngineLeaveRequest(41), ChannelJsonContext.Default.EngineLeaveRequest, pair.Cancellation.Token);
        await moves.LeaveStarted.Task.WaitAsync(pair.Cancellation.Token);
        Assert.True(moves.HasLeft);
        // While the agent unmaps (seconds), its channel loop keeps reading: a second request is taken at once.
        await pair.HostSide.WriteJsonAsync(ChannelMessageType.EngineLeave, new EngineLeaveRequest(42), ChannelJsonContext.Default.EngineLeaveRequest, pair.Cancellation.Token);
        await Poll.UntilAsync(() => moves.LeaveCalls == 2, TimeSpan.FromSeconds(10), "the second leave to be read while the first is unmapping");
        moves.FinishLeave.SetResult(2);

        var ids = new List<long>();
        for (int i = 0; i < 2; i++)
        {
            ChannelMessage m = await pair.HostReadsAsync(ChannelMessageType.EngineLeave);
            EngineLeaveReply reply = ChannelConnection.TryParse(m.Payload, ChannelJsonContext.Default.EngineLeaveReply, out string? error) ?? throw new InvalidDataException(error);
            Assert.Equal((true, 2, (string?)null), (reply.Left, reply.Unmapped, reply.Error));
            ids.Add(reply.Id);
        }
        ids.Sort();
        Assert.Equal([41L, 42L], ids);

        await pair.HostSide.WriteJsonAsync(ChannelMessageType.EngineJoin, new EngineJoinNotice(1), ChannelJsonContext.Default.EngineJoinNotice, pair.Cancellation.Token);
        await Poll.UntilAsync(() => !moves.HasLeft, TimeSpan.FromSeconds(10), "the agent to join");
        Assert.Equal(1, moves.Joins);
    }

    [Theory]
    [InlineData(16, "{not json")]
    [InlineData(16, "null")]
    [InlineData(16, "{\"id\":-3}")]
    [InlineData(16, "{}")]
    [InlineData(17, "[1]")]
    public async Task HostileLeaveOrJoin_AnsweredBadPayload_NothingLeftOrJoined(byte type, string payload)
    {
        var moves = new FakeMoves();
        await using ChannelPair pair = await ChannelPair.ConnectAsync("leavebad");
        pair.Serve(new EngineMoveHandler(moves, NullLogger<EngineMoveHandler>.Instance));

        await pair.HostSide.WriteAsync((ChannelMessageType)type, System.Text.Encoding.UTF8.GetBytes(payload), pair.Cancellation.Token);
        ChannelMessage m = await pair.HostReadsAsync(ChannelMessageType.Error);
        ErrorMessage error = ChannelConnection.TryParse(m.Payload, ChannelJsonContext.Default.ErrorMessage, out _)!;
        Assert.Equal("bad-payload", error.Code);
        Assert.False(moves.HasLeft);
        Assert.Equal(0, moves.Joins);
    }

    [Fact]
    public async Task AgentWithoutEngine_LeaveAnsweredAtOnceWithNothingUnmapped()
    {
        await using ChannelPair pair = await ChannelPair.ConnectAsync("leavenoeng");
        pair.Serve(new EngineMoveHandler(null, NullLogger<EngineMoveHandler>.Instance));
        await pair.HostSide.WriteAsync(ChannelMessageType.EngineLeave,
            JsonSerializer.SerializeToUtf8Bytes(new EngineLeaveRequest(5), ChannelJsonContext.Default.EngineLeaveRequest), pair.Cancellation.Token);
        ChannelMessage m = await pair.HostReadsAsync(ChannelMessageType.EngineLeave);
        EngineLeaveReply reply = ChannelConnection.TryParse(m.Payload, ChannelJsonContext.Default.EngineLeaveReply, out _)!;
        Assert.Equal((5L, true, 0), (reply.Id, reply.Left, reply.Unmapped));
    }

    private static EngineRegion Open(EngineRegionOpener opener) =>
        opener.TryOpen("web", SharedRegion.Name, out string? error) ?? throw new InvalidOperationException(error);

    /// <summary>How many mappings of <paramref name="path"/> this process holds (what the kernel says, /proc/self/maps).</summary>
    private static int MappingsOf(string path)
    {
        int count = 0;
        foreach (string line in File.ReadLines("/proc/self/maps"))
        {
            if (line.EndsWith(path, StringComparison.Ordinal))
            {
                count++;
            }
        }
        return count;
    }

    private sealed class FakeMoves : IEngineMoves
    {
        public TaskCompletionSource LeaveStarted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource<int> FinishLeave { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Joins { get; private set; }

        public bool HasLeft { get; private set; }

        private int _leaveCalls;

        public int LeaveCalls => Volatile.Read(ref _leaveCalls);

        public Task<int> LeaveAsync()
        {
            Interlocked.Increment(ref _leaveCalls);
            HasLeft = true;
            LeaveStarted.TrySetResult();
            return FinishLeave.Task;
        }

        public void Join()
        {
            HasLeft = false;
            Joins++;
        }
    }
}
