using System.IO.Pipelines;
using System.Text;
using OverlayKvm.Core.Api;
using OverlayKvm.Core.Channel;
using OverlayKvm.HostDaemon.Channel;

namespace OverlayKvm.HostDaemon.Tests.Channel;

/// <summary>The guest's counter replies are untrusted: bounded, parsed, checked, matched to a request, or refused with a reason.</summary>
public sealed class AgentCounterQueriesTests
{
    private static AgentCounters Good() => new("vmX", 3,
        [new AgentGroupCounters("web", new(1, 2, 3, 4), new(0, 0, 0, 0), new(5, 6, 7, 8), 1)],
        new Dictionary<string, long> { ["auth"] = 0, ["no-route"] = 2 },
        new AgentTransmissionCounters(new Dictionary<string, long> { ["queued"] = 1 }, 1, 1, 0, 2),
        new AgentEngineCounters(new Dictionary<string, long> { ["not-attached"] = 4 }, 0),
        [new AgentAdapterCounters("ovk01fc0bb4", "web", 1, ["client"])]);

    public static TheoryData<AgentCounters, string> Hostile => new()
    {
        { Good() with { ConfigVersion = -1 }, "configVersion" },
        { Good() with { Groups = [new AgentGroupCounters("we b", new(1, 2, 3, 4), new(0, 0, 0, 0), new(0, 0, 0, 0), 1)] }, "groups[0].group" },
        { Good() with { Groups = [new AgentGroupCounters("web", new(1, -2, 3, 4), new(0, 0, 0, 0), new(0, 0, 0, 0), 1)] }, "groups[0].local: negative" },
        { Good() with { Groups = Enumerable.Range(0, 257).Select(i => new AgentGroupCounters("g" + i, new(0, 0, 0, 0), new(0, 0, 0, 0), new(0, 0, 0, 0), null)).ToList() }, "groups: 257 entries" },
        { Good() with { Drops = new Dictionary<string, long> { ["\u001b[2J"] = 1 } }, "is not a counter name" },
        { Good() with { Drops = new Dictionary<string, long> { ["auth"] = -5 } }, "drops.auth: negative" },
        { Good() with { Drops = Enumerable.Range(0, 65).ToDictionary(i => "r" + i, i => (long)i) }, "drops: 65 entries" },
        { Good() with { Adapters = [new AgentAdapterCounters("ovk-much-too-long-name", "web", 1, [])] }, "adapters[0].device" },
        { Good() with { Adapters = [new AgentAdapterCounters("ovk1", "web", 1, ["a/b"])] }, "adapters[0].apps" },
        // Issue 15: per-peer counters feed rebalance; a guest must not steer it with invented or inflated entries.
        { Good() with { Peers = [Peer("vm/B", 1)] }, "peers[0].domain" },
        { Good() with { Peers = [Peer("vmB", -1)] }, "peers[0].sealed: negative" },
        { Good() with { Peers = [Peer("vmC", 1), Peer("vmB", 1)] }, "peers[1].domain: not in strictly ascending order" },
        { Good() with { Peers = [Peer("vmB", 1), Peer("vmB", 1)] }, "peers[1].domain: not in strictly ascending order" },
        { Good() with { Peers = Enumerable.Range(0, AgentCountersRules.MaxPeers + 1).Select(i => Peer($"vm{i:D5}", 0)).ToList() }, "peers: 1025 entries" },
    };

    private static AgentPeerCounters Peer(string domain, long sealedBytesOut) =>
        new(domain, new(0, 0, 0, 0), new(0, 0, 1, sealedBytesOut));

    [Fact]
    public async Task Complete_GoodReplyWithPeers_PeersKept()
    {
        var (queries, ask, id) = await AskAsync();
        Assert.Null(queries.Complete(Reply(id, Good() with { Peers = [Peer("vmB", 4096), Peer("vmC", 0)] })));
        AgentCounters c = await ask;
        Assert.Equal(["vmB", "vmC"], c.Peers.Select(p => p.Domain));
        Assert.Equal(4096, c.Peers[0].Sealed.BytesOut);
    }

    [Theory]
    [MemberData(nameof(Hostile))]
    public async Task Complete_HostileCounters_RefusedAndAskerToldWhy(AgentCounters counters, string expected)
    {
        var (queries, ask, id) = await AskAsync();
        string? refused = queries.Complete(Reply(id, counters));
        Assert.NotNull(refused);
        Assert.Contains(expected, refused);
        var ex = await Assert.ThrowsAsync<AgentUnavailableException>(() => ask);
        Assert.Contains("domain vmA: the agent's counters were refused", ex.Message);
    }

    [Fact]
    public async Task Complete_GoodReply_AnswersWithTheChannelsDomainNotTheGuestsClaim()
    {
        var (queries, ask, id) = await AskAsync();
        Assert.Null(queries.Complete(Reply(id, Good())));
        AgentCounters c = await ask;
        Assert.Equal("vmA", c.Domain);
        Assert.Equal(8, c.Groups[0].Sealed.BytesOut);
    }

    [Fact]
    public async Task Complete_LateReplyToARequestThatTimedOut_DroppedWithoutRefusal_NeverAskedIdStillRefused()
    {
        // A guest slowed down by its boot or a migration answers after overlayd gave up: late, not hostile.
        var queries = new AgentCounterQueries("vmA");
        await using var connection = new ChannelConnection(new MemoryStream());
        await Assert.ThrowsAsync<AgentUnavailableException>(() => queries.AskAsync(connection, TimeSpan.FromMilliseconds(50), CancellationToken.None));

        Assert.Null(queries.Complete(Reply(1, Good())));
        Assert.Contains("answers no request", queries.Complete(Reply(2, Good())));
    }

    [Fact]
    public void Complete_OversizedUnparsableOrUnasked_Refused()
    {
        var queries = new AgentCounterQueries("vmA");
        Assert.Contains("at most", queries.Complete(new byte[AgentCountersRules.MaxReplyBytes + 1]));
        Assert.Contains("counter report:", queries.Complete("{not json"u8.ToArray()));
        Assert.Contains("answers no request", queries.Complete(Reply(99, Good())));
    }

    [Fact]
    public async Task Ask_NoConnectionOrNoAnswer_Unavailable()
    {
        var queries = new AgentCounterQueries("vmA");
        var ex = await Assert.ThrowsAsync<AgentUnavailableException>(() => queries.AskAsync(null, TimeSpan.FromSeconds(1), CancellationToken.None));
        Assert.Contains("not connected", ex.Message);
        var (_, ask, _) = await AskAsync(TimeSpan.FromMilliseconds(50));
        ex = await Assert.ThrowsAsync<AgentUnavailableException>(() => ask);
        Assert.Contains("did not answer the counter request within", ex.Message);
    }

    private static byte[] Reply(long id, AgentCounters counters) =>
        System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new AgentCounterReply(id, counters, null), ChannelJsonContext.Default.AgentCounterReply);

    /// <summary>Starts a request on a channel whose other end the test reads; returns the pending answer and the request id sent.</summary>
    private static async Task<(AgentCounterQueries Queries, Task<AgentCounters> Ask, long Id)> AskAsync(TimeSpan? timeout = null)
    {
        var pipe = new Pipe();
        var connection = new ChannelConnection(new DuplexStream(pipe.Writer.AsStream()));
        var peer = new ChannelConnection(pipe.Reader.AsStream());
        var queries = new AgentCounterQueries("vmA");
        Task<AgentCounters> ask = queries.AskAsync(connection, timeout ?? TimeSpan.FromSeconds(10), CancellationToken.None);
        ChannelMessage? m = await peer.ReadAsync(CancellationToken.None);
        Assert.Equal(ChannelMessageType.CounterRequest, m!.Value.Type);
        AgentCounterRequest request = ChannelConnection.TryParse(m.Value.Payload, ChannelJsonContext.Default.AgentCounterRequest, out _)!;
        return (queries, ask, request.Id);
    }

    /// <summary>Write-only side of a pipe as the channel's stream (the test never reads from it).</summary>
    private sealed class DuplexStream(Stream write) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() => write.Flush();
        public override Task FlushAsync(CancellationToken cancellationToken) => write.FlushAsync(cancellationToken);
        public override int Read(byte[] buffer, int offset, int count) => 0;
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => write.Write(buffer, offset, count);
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => write.WriteAsync(buffer, cancellationToken);
    }
}
