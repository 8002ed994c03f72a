using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using OverlayKvm.Core.Channel;
using OverlayKvm.Core.Config;
using OverlayKvm.Core.Model;
using OverlayKvm.HostDaemon.Channel;
using OverlayKvm.HostDaemon.Store;
using OverlayKvm.HostDaemon.Tests.Channel;
using OverlayKvm.HostDaemon.Tests.Store;

namespace OverlayKvm.HostDaemon.Tests.DirectoryService;

/// <summary>
/// Seed 002 R4–R5 on overlayd's side, over a real store and the real domain channel: an agent asks for an address its
/// document does not list; overlayd answers from the domain's current document (the same rules as pushes), so a member
/// defined after the last push is found at once with its route, and an address of a group the domain is not related
/// to is "not found", exactly like one nobody holds.
/// </summary>
public sealed class DirectoryQueryTests : IDisposable
{
    private readonly TempStore _temp = new();
    private readonly SqliteOverlayStore _store;

    public DirectoryQueryTests()
    {
        _store = _temp.Open();
        _store.DefineGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed);
        _store.DefineGroup("secret", IPNetwork.Parse("10.9.0.0/16"), ProtectionLevel.Sealed);
        _store.UpsertDomain("vm1", null, "host-a", IPAddress.Parse("192.0.2.1"));
        _store.UpsertDomain("vm2", null, "host-b", IPAddress.Parse("192.0.2.2"));
        _store.DefineApplication("web", "frontend", IPAddress.Parse("10.1.0.1"), "vm1", []);
    }

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task MemberDefinedAfterTheLastPush_FoundWithItsRoute_UnrelatedGroupNotFound()
    {
        var builder = new DomainConfigBuilder(_store);
        using var end = new AgentEnd();
        await using var client = new DomainChannelClient("vm1", end.Path, () => builder.Build("vm1", includeSecrets: true), NullLogger.Instance);
        client.Start();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await using var agent = await end.AcceptAsync(cts.Token);
        DomainConfigDocument pushed = await AgentEnd.ReadAsync(agent, ChannelMessageType.Config, ChannelJsonContext.Default.DomainConfigDocument, cts.Token);
        Assert.DoesNotContain(pushed.Groups[0].Members, m => m.Address == "10.1.0.2");

        // Defined after the push; nobody tells the channel (no NotifyChanged), so only a lookup can find it.
        _store.DefineApplication("web", "api", IPAddress.Parse("10.1.0.2"), "vm2", []);
        _store.DefineApplication("secret", "vault", IPAddress.Parse("10.9.0.5"), "vm2", []);

        DirectoryAnswer found = await AskAsync(agent, 1, "10.1.0.2", cts.Token);
        Assert.True(found.Found);
        Assert.Equal("web", found.Group);
        Assert.Equal(("api", "vm2", "192.0.2.2"), (found.Member!.Name, found.Member.Domain, found.Member.DomainAddress));
        Assert.Equal("untrusted", found.Member.Path);
        Assert.Equal(["encapsulate", "seal"], found.Member.Actions);
        Assert.True(found.Version > pushed.Version);

        DirectoryAnswer unrelated = await AskAsync(agent, 2, "10.9.0.5", cts.Token);
        DirectoryAnswer nobody = await AskAsync(agent, 3, "10.1.0.77", cts.Token);
        DirectoryAnswer garbage = await AskAsync(agent, 4, "not-an-address", cts.Token);
        Assert.All([unrelated, nobody, garbage], a => Assert.False(a.Found));
        Assert.All([unrelated, nobody, garbage], a => Assert.Null(a.Member));
        Assert.Equal([2L, 3L, 4L], new[] { unrelated.Id, nobody.Id, garbage.Id });
    }

    [Fact]
    public async Task QueriesPastTheDomainsBudget_AnsweredThrottled_NotLookedUp()
    {
        var builds = 0;
        var doc = new DomainConfigDocument(DomainConfigDocument.CurrentFormat, "vm1", 1, "", null, "h", [], []);
        using var end = new AgentEnd();
        await using var client = new DomainChannelClient("vm1", end.Path, () => { Interlocked.Increment(ref builds); return doc; }, NullLogger.Instance);
        client.Start();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await using var agent = await end.AcceptAsync(cts.Token);
        await AgentEnd.ReadAsync(agent, ChannelMessageType.Config, ChannelJsonContext.Default.DomainConfigDocument, cts.Token);
        int afterPush = Volatile.Read(ref builds);

        for (int i = 0; i < 200; i++)
        {
            await agent.WriteAsync(ChannelMessageType.DirectoryQuery,
                JsonSerializer.SerializeToUtf8Bytes(new DirectoryQuery(i, "10.1.0.2"), ChannelJsonContext.Default.DirectoryQuery), cts.Token);
        }
        int answers = 0, throttled = 0;
        while (answers + throttled < 200)
        {
            ChannelMessage m = await agent.ReadAsync(cts.Token) ?? throw new IOException("overlayd closed the channel");
            if (m.Type == ChannelMessageType.DirectoryAnswer) answers++;
            else if (m.Type == ChannelMessageType.Error) throttled++;
        }

        Assert.True(throttled > 0, "200 queries at once must exceed the per-domain budget");
        Assert.Equal(answers, Volatile.Read(ref builds) - afterPush);
    }

    private static async Task<DirectoryAnswer> AskAsync(ChannelConnection agent, long id, string address, CancellationToken cancellationToken)
    {
        await agent.WriteAsync(ChannelMessageType.DirectoryQuery,
            JsonSerializer.SerializeToUtf8Bytes(new DirectoryQuery(id, address), ChannelJsonContext.Default.DirectoryQuery), cancellationToken);
        return await AgentEnd.ReadAsync(agent, ChannelMessageType.DirectoryAnswer, ChannelJsonContext.Default.DirectoryAnswer, cancellationToken);
    }
}
