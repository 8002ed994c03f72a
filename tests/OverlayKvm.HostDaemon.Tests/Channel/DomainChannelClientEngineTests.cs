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
        var doc = new DomainConfigDocument(DomainConfigDocument.CurrentFormat, "vm1", 1, "", null, "h", [], []);
        await using var client = new DomainChannelClient("vm1", end.Path, () => doc, NullLogger.Instance, engine: _f.Registry);
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
        var doc = new DomainConfigDocument(DomainConfigDocument.CurrentFormat, "vm1", 1, "", null, "h", [], []);
        await using var client = new DomainChannelClient("vm1", end.Path, () => doc, NullLogger.Instance, engine: _f.Registry);
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
