using System.Text;
using System.Text.Json;
using OverlayKvm.Core.Channel;
using OverlayKvm.HostDaemon.Channel;
using OverlayKvm.HostDaemon.Tests.Engine;

namespace OverlayKvm.HostDaemon.Tests.Channel;

/// <summary>The engine hypercalls as overlayd's channel layer dispatches them: the channel's domain, never a claimed one.</summary>
public sealed class EngineHypercallDispatcherTests : IDisposable
{
    private readonly EngineFixture _f = new();

    public void Dispose() => _f.Dispose();

    private static byte[] Request(long id, string address) =>
        JsonSerializer.SerializeToUtf8Bytes(new EngineAddressRequest(id, address), ChannelJsonContext.Default.EngineAddressRequest);

    private static T Parse<T>(EngineHypercallDispatcher.Answer answer, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> info)
        where T : class =>
        ChannelConnection.TryParse(answer.Payload, info, out string? error) ?? throw new InvalidDataException(error);

    [Fact]
    public void Register_OwnApp_AnswersSlotAndRegionWithTheSameId()
    {
        var vm1 = new EngineHypercallDispatcher("vm1", _f.Registry);
        var answer = vm1.Dispatch(ChannelMessageType.Register, Request(42, "10.1.0.1"));
        Assert.Equal(ChannelMessageType.Register, answer.Type);
        Assert.False(answer.Rejected);
        var r = Parse(answer, ChannelJsonContext.Default.EngineRegisterAnswer);
        Assert.Equal((42L, true, "Registered", "web", "overlaykvm-web"), (r.Id, r.Ok, r.Status, r.Group, r.RegionName));
        Assert.InRange(r.Slot, 0, 3);
        Assert.True(vm1.Follows("web"));
        Assert.False(vm1.Follows("db"));
    }

    [Fact]
    public void Register_AnotherDomainsAddress_RefusedBecauseTheChannelNamesTheDomain()
    {
        var vm3 = new EngineHypercallDispatcher("vm3", _f.Registry);
        var r = Parse(vm3.Dispatch(ChannelMessageType.Register, Request(1, "10.1.0.1")), ChannelJsonContext.Default.EngineRegisterAnswer);
        Assert.False(r.Ok);
        Assert.Equal("NotOwnedByDomain", r.Status);
        Assert.Null(r.RegionName);
        Assert.False(vm3.Follows("web"));
    }

    [Fact]
    public void Query_SameGroupAccessible_OtherGroupNot()
    {
        var vm1 = new EngineHypercallDispatcher("vm1", _f.Registry);
        var vm2 = new EngineHypercallDispatcher("vm2", _f.Registry);
        var vm3 = new EngineHypercallDispatcher("vm3", _f.Registry);
        vm1.Dispatch(ChannelMessageType.Register, Request(1, "10.1.0.1"));
        var reg2 = Parse(vm2.Dispatch(ChannelMessageType.Register, Request(1, "10.1.0.2")), ChannelJsonContext.Default.EngineRegisterAnswer);
        vm3.Dispatch(ChannelMessageType.Register, Request(1, "10.2.0.1"));

        var yes = Parse(vm1.Dispatch(ChannelMessageType.Query, Request(5, "10.1.0.2")), ChannelJsonContext.Default.EngineQueryAnswer);
        Assert.Equal((5L, true, "Accessible", reg2.Slot), (yes.Id, yes.Accessible, yes.Outcome, yes.Slot));
        Assert.Equal("overlaykvm-web", yes.RegionName);
        Assert.True(yes.DirectoryVersion > 0);

        var no = Parse(vm3.Dispatch(ChannelMessageType.Query, Request(6, "10.1.0.2")), ChannelJsonContext.Default.EngineQueryAnswer);
        Assert.Equal((6L, false, "NotGroupMember"), (no.Id, no.Accessible, no.Outcome));
        Assert.Null(no.Group);
        Assert.Null(no.RegionName);
    }

    [Theory]
    [InlineData("")]
    [InlineData("{")]
    [InlineData("null")]
    [InlineData("{\"id\":3}")]
    [InlineData("{\"id\":3,\"address\":\"fe80::1\"}")]
    [InlineData("{\"id\":3,\"address\":\"10.1.0.999\"}")]
    [InlineData("{\"id\":\"x\",\"address\":\"10.1.0.1\"}")]
    public void Dispatch_MalformedRequest_AnsweredInvalidAndRejected(string payload)
    {
        var vm1 = new EngineHypercallDispatcher("vm1", _f.Registry);
        foreach (var type in new[] { ChannelMessageType.Register, ChannelMessageType.Query, ChannelMessageType.Deregister })
        {
            var answer = vm1.Dispatch(type, Encoding.UTF8.GetBytes(payload));
            Assert.True(answer.Rejected, $"{type} with payload '{payload}' was not counted as rejected");
            Assert.Equal(type, answer.Type);
            Assert.Contains("\"Invalid\"", Encoding.UTF8.GetString(answer.Payload), StringComparison.Ordinal);
        }
        Assert.Empty(_f.Registry.Snapshot().Groups.SelectMany(g => g.Slots));
    }

    [Fact]
    public void Deregister_AndHeartbeat_ActOnTheChannelsDomainOnly()
    {
        var vm1 = new EngineHypercallDispatcher("vm1", _f.Registry);
        var vm2 = new EngineHypercallDispatcher("vm2", _f.Registry);
        Assert.False(vm1.Heartbeat());
        vm1.Dispatch(ChannelMessageType.Register, Request(1, "10.1.0.1"));
        Assert.True(vm1.Heartbeat());

        var foreign = Parse(vm2.Dispatch(ChannelMessageType.Deregister, Request(2, "10.1.0.1")), ChannelJsonContext.Default.EngineDeregisterAnswer);
        Assert.Equal((2L, false, "NotRegistered"), (foreign.Id, foreign.Ok, foreign.Status));
        var own = Parse(vm1.Dispatch(ChannelMessageType.Deregister, Request(3, "10.1.0.1")), ChannelJsonContext.Default.EngineDeregisterAnswer);
        Assert.Equal((3L, true, "Deregistered"), (own.Id, own.Ok, own.Status));
        Assert.False(vm1.Heartbeat());
    }
}
