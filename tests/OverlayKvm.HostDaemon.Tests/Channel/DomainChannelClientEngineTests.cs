using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using OverlayKvm.Core.Channel;
using OverlayKvm.Core.Config;
using OverlayKvm.HostDaemon.Channel;
using OverlayKvm.HostDaemon.Tests.Engine;

namespace OverlayKvm.HostDaemon.Tests.Channel;

/// <summary>overlayd's end of a domain channel with the engine wired: answers over the socket and directory pushes.</summary>
public sealed class DomainChannelClientEngineTests : IDisposable
{
    private readonly EngineFixture _f = new();

    public void Dispose() => _f.Dispose();

    [Fact]
    public async Task RegisterOverTheChannel_ThenAPeerRegisters_DirectoryChangePushedToTheFollower()
    {
        using var end = new AgentEnd();
        await using DomainChannelClient client = NewClient(end.Path);
        client.Start();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await using var agent = await end.AcceptAsync(cts.Token);

        await agent.WriteAsync(ChannelMessageType.Register,
            JsonSerializer.SerializeToUtf8Bytes(new EngineAddressRequest(17, "10.1.0.1"), ChannelJsonContext.Default.EngineAddressRequest), cts.Token);
        EngineRegisterAnswer answer = await AgentEnd.ReadAsync(agent, ChannelMessageType.Register, ChannelJsonContext.Default.EngineRegisterAnswer, cts.Token);
        Assert.Equal((17L, true, "web"), (answer.Id, answer.Ok, answer.Group));

        // Another VM of the group registers: vm1 must drop its cached answers.
        Assert.True(_f.Registry.Register("vm2", EngineFixture.Ip("10.1.0.2")).Succeeded);
        EngineDirectoryChangedMessage pushed = await AgentEnd.ReadAsync(agent, ChannelMessageType.EngineDirectoryChanged,
            ChannelJsonContext.Default.EngineDirectoryChangedMessage, cts.Token);
        Assert.Equal("web", pushed.Group);
        Assert.True(pushed.DirectoryVersion > 0);

        // A heartbeat on the channel keeps vm1's slot (the registry counts it).
        long before = _f.Registry.Snapshot().Counters.Heartbeats;
        await agent.WriteAsync(ChannelMessageType.Heartbeat, ReadOnlyMemory<byte>.Empty, cts.Token);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (_f.Registry.Snapshot().Counters.Heartbeats == before && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }
        Assert.Equal(before + 1, _f.Registry.Snapshot().Counters.Heartbeats);
    }

    [Fact]
    public async Task ChannelClosedByTheDomain_ItsEngineSlotsAreReleased_OthersStay()
    {
        using var end = new AgentEnd();
        await using DomainChannelClient client = NewClient(end.Path);
        client.Start();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var agent = await end.AcceptAsync(cts.Token);
        await agent.WriteAsync(ChannelMessageType.Register,
            JsonSerializer.SerializeToUtf8Bytes(new EngineAddressRequest(1, "10.1.0.1"), ChannelJsonContext.Default.EngineAddressRequest), cts.Token);
        Assert.True((await AgentEnd.ReadAsync(agent, ChannelMessageType.Register, ChannelJsonContext.Default.EngineRegisterAnswer, cts.Token)).Ok);
        Assert.True(_f.Registry.Register("vm2", EngineFixture.Ip("10.1.0.2")).Succeeded);
        Assert.Equal(["vm1", "vm2"], Domains());

        // The VM is gone: QEMU removed its socket and closed its end of the channel. vm1's slot must go now, not
        // after the heartbeat expiry (30 s on this fixture's clock, which does not even move).
        end.Close();
        await agent.DisposeAsync();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while ((Domains().Contains("vm1") || client.Connected) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.Equal(["vm2"], Domains());
        Assert.Equal(OverlayKvm.HostDaemon.Engine.QueryOutcome.NotRegistered, _f.Registry.Query("vm2", EngineFixture.Ip("10.1.0.1")).Outcome);
        Assert.False(client.Connected, "the client must notice the channel is gone");
    }

    [Fact]
    public async Task EngineLeave_AgentConfirms_NoJoinOnReconnectUntilJoinEngine()
    {
        using var end = new AgentEnd();
        await using DomainChannelClient client = NewClient(end.Path);
        client.Start();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var agent = await end.AcceptAsync(cts.Token);
        // A fresh connection of a domain that did not leave: told to join (attach) at once.
        await AgentEnd.ReadAsync(agent, ChannelMessageType.EngineJoin, ChannelJsonContext.Default.EngineJoinNotice, cts.Token);

        Task<EngineLeaveReply> leaving = client.LeaveEngineAsync(TimeSpan.FromSeconds(20), cts.Token);
        EngineLeaveRequest request = await AgentEnd.ReadAsync(agent, ChannelMessageType.EngineLeave, ChannelJsonContext.Default.EngineLeaveRequest, cts.Token);
        // A reply to another request is refused and counted; the leave still waits for its own.
        await agent.WriteJsonAsync(ChannelMessageType.EngineLeave, new EngineLeaveReply(request.Id + 7, true, 9, null), ChannelJsonContext.Default.EngineLeaveReply, cts.Token);
        ErrorMessage refusal = await AgentEnd.ReadAsync(agent, ChannelMessageType.Error, ChannelJsonContext.Default.ErrorMessage, cts.Token);
        Assert.Contains("answers no request", refusal.Message);
        Assert.False(leaving.IsCompleted);
        await agent.WriteJsonAsync(ChannelMessageType.EngineLeave, new EngineLeaveReply(request.Id, true, 1, null), ChannelJsonContext.Default.EngineLeaveReply, cts.Token);
        Assert.Equal(1, (await leaving).Unmapped);
        Assert.Equal(1, client.RejectedMessages);

        // The channel drops and comes back (the regions are being unplugged): no join, the agent must stay off them.
        await agent.DisposeAsync();
        agent = await end.AcceptAsync(cts.Token);
        await AgentEnd.ReadAsync(agent, ChannelMessageType.Config, ChannelJsonContext.Default.DomainConfigDocument, cts.Token);
        await agent.WriteAsync(ChannelMessageType.Register,
            JsonSerializer.SerializeToUtf8Bytes(new EngineAddressRequest(3, "10.1.0.1"), ChannelJsonContext.Default.EngineAddressRequest), cts.Token);
        ChannelMessage next = await agent.ReadAsync(cts.Token) ?? throw new IOException("overlayd closed the channel");
        Assert.Equal(ChannelMessageType.Register, next.Type); // a join would have come before any answer

        Assert.True(await client.JoinEngineAsync(cts.Token));
        EngineJoinNotice join = await AgentEnd.ReadAsync(agent, ChannelMessageType.EngineJoin, ChannelJsonContext.Default.EngineJoinNotice, cts.Token);
        Assert.True(join.Id > 0);
        await agent.DisposeAsync();
    }

    [Fact]
    public async Task EngineLeave_AgentSaysNotLeftOrNeverAnswers_Unavailable()
    {
        using var end = new AgentEnd();
        await using DomainChannelClient client = NewClient(end.Path);
        var notConnected = await Assert.ThrowsAsync<AgentUnavailableException>(() => client.LeaveEngineAsync(TimeSpan.FromSeconds(1), CancellationToken.None));
        Assert.Contains("not connected", notConnected.Message);
        // That attempt marked the domain as leaving (no join at connection); a join with no agent connected says so
        // and clears it, so the agent is told at its connection.
        Assert.False(await client.JoinEngineAsync(CancellationToken.None));
        client.Start();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var agent = await end.AcceptAsync(cts.Token);
        await AgentEnd.ReadAsync(agent, ChannelMessageType.EngineJoin, ChannelJsonContext.Default.EngineJoinNotice, cts.Token);

        Task<EngineLeaveReply> refused = client.LeaveEngineAsync(TimeSpan.FromSeconds(20), cts.Token);
        EngineLeaveRequest request = await AgentEnd.ReadAsync(agent, ChannelMessageType.EngineLeave, ChannelJsonContext.Default.EngineLeaveRequest, cts.Token);
        await agent.WriteJsonAsync(ChannelMessageType.EngineLeave, new EngineLeaveReply(request.Id, false, 0, "busy"), ChannelJsonContext.Default.EngineLeaveReply, cts.Token);
        var ex = await Assert.ThrowsAsync<AgentUnavailableException>(() => refused);
        Assert.Contains("did not leave the engine: busy", ex.Message);

        // An agent that does not know the message (an older one answers unknown-type) never confirms.
        Task<EngineLeaveReply> silent = client.LeaveEngineAsync(TimeSpan.FromMilliseconds(300), cts.Token);
        await AgentEnd.ReadAsync(agent, ChannelMessageType.EngineLeave, ChannelJsonContext.Default.EngineLeaveRequest, cts.Token);
        await agent.SendErrorAsync("unknown-type", "message type 16 is not understood by this agent", cts.Token);
        ex = await Assert.ThrowsAsync<AgentUnavailableException>(() => silent);
        Assert.Contains("the agent did not confirm that it unmapped the engine regions within 0.3 s", ex.Message);
    }

    [Fact]
    public void EngineLeaveReply_OversizedUnparsableNegativeOrUnasked_Refused()
    {
        var leaves = new AgentEngineLeaves("vm1");
        Assert.Contains("at most", leaves.Complete(new byte[AgentEngineLeaves.MaxReplyBytes + 1]));
        Assert.Contains("engine leave reply:", leaves.Complete("{not json"u8.ToArray()));
        Assert.Contains("engine leave reply:", leaves.Complete("{\"id\":1}"u8.ToArray()));
        Assert.Contains("negative count", leaves.Complete("{\"id\":1,\"left\":true,\"unmapped\":-1,\"error\":null}"u8.ToArray()));
        Assert.Contains("answers no request", leaves.Complete("{\"id\":1,\"left\":true,\"unmapped\":1,\"error\":null}"u8.ToArray()));
    }

    private static readonly DomainConfigDocument Document = new(DomainConfigDocument.CurrentFormat, "vm1", 1, "", null, "h", [], []);

    private DomainChannelClient NewClient(string path) => new("vm1", path, () => Document, NullLogger.Instance, engine: _f.Registry);

    private string[] Domains()
    {
        var domains = new List<string>();
        foreach (var group in _f.Registry.Snapshot().Groups)
        {
            foreach (var slot in group.Slots)
            {
                domains.Add(slot.Domain);
            }
        }
        domains.Sort(StringComparer.Ordinal);
        return domains.ToArray();
    }
}
