using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using OverlayKvm.Core.Channel;
using OverlayKvm.Core.Config;
using OverlayKvm.GuestAgent.Channel;
using OverlayKvm.GuestAgent.Config;
using OverlayKvm.GuestAgent.Pipeline;
using OverlayKvm.GuestAgent.Tests.Doubles;
using OverlayKvm.TestSupport;

namespace OverlayKvm.GuestAgent.Tests.Channel;

/// <summary>
/// Seed 002 R4–R5 on the agent's side: a destination missing from the document is asked for once over the host
/// channel (not once per packet), the answer's member is compiled in like a pushed one, and the next packet is
/// sealed to it and delivered; a negative answer is cached for its TTL.
/// </summary>
public sealed class DirectoryLookupsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("okvm-dl-").FullName;
    private readonly Socket _listener = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
    private Socket? _hostSocket;
    private Socket? _agentSocket;

    // IDisposable, not IAsyncDisposable: this xunit never called DisposeAsync on a test class, so every run left
    // an okvm-dl-* folder in /tmp.
    public void Dispose()
    {
        _agentSocket?.Dispose();
        _hostSocket?.Dispose();
        _listener.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task MissAsksOnce_AnswerCompiledIn_NextPacketDelivered_NegativeCached()
    {
        var t = new TwoAgents();
        // vmA's AddGuestAgent graph: its send path already holds these lookups, as overlay-agent's does.
        var learned = t.A.Get<LearnedRoutes>();
        var compiler = t.A.Compiler;
        // vmA's last push predates b: its document has a and a2 only.
        DomainConfigDocument full = t.Doc("vmA", 2);
        DomainConfigDocument old = full with { Version = 1, Groups = [full.Groups[0] with { Members = [.. full.Groups[0].Members.Where(m => m.Name != "b")] }] };
        t.StateA.Publish(compiler.Compile(old, null));
        var (host, agentEnd) = await ConnectAsync();
        t.A.Get<HostChannelLink>().Attach(agentEnd);
        var lookups = t.A.Get<DirectoryLookups>();
        var send = t.SendA;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await lookups.StartAsync(cts.Token);
        try
        {
            byte[] buffer = TwoAgents.NewBuffer();
            for (int i = 0; i < 5; i++)
            {
                Assert.Equal(DropReason.NoRoute, send.Process(t.GroupId, buffer, TwoAgents.WritePacket(buffer, "10.1.0.1", "10.1.0.2")));
            }
            DirectoryQuery query = await ReadAsync(host, ChannelMessageType.DirectoryQuery, ChannelJsonContext.Default.DirectoryQuery, cts.Token);
            Assert.Equal("10.1.0.2", query.Address);
            MemberConfig b = full.Groups[0].Members.Single(m => m.Name == "b");
            await host.WriteAsync(ChannelMessageType.DirectoryAnswer,
                JsonSerializer.SerializeToUtf8Bytes(new DirectoryAnswer(query.Id, query.Address, true, "web", b, 2, 30), ChannelJsonContext.Default.DirectoryAnswer), cts.Token);
            ChannelMessage answer = await agentEnd.ReadAsync(cts.Token) ?? throw new IOException("closed");
            await lookups.HandleAsync(agentEnd, answer, cts.Token);
            await WaitUntil(() => t.StateA.Current!.Directory.ContainsKey(0x0A010002), cts.Token);

            Assert.Null(send.Process(t.GroupId, buffer, TwoAgents.WritePacket(buffer, "10.1.0.1", "10.1.0.2")));
            Assert.Null(t.ReceiveB.Process(t.SenderA.LastFrame(), TwoAgents.VmAUnderlay));
            Assert.Equal(1, t.CountersB.ForGroup("web").Sealed.PacketsIn);
            Assert.Equal((1L, 1L), (Interlocked.Read(ref lookups.Queries), Interlocked.Read(ref lookups.Found)));
            Assert.Equal(1, learned.Count);

            // The pushed document that lists b supersedes what was learned.
            lock (learned.Sync)
            {
                t.StateA.Publish(compiler.Compile(learned.Merge(full with { Version = 3 }, t.Time.GetUtcNow().UtcTicks), t.StateA.Current));
            }
            Assert.Equal(0, learned.Count);

            // Nobody at 10.1.0.99: one query, the negative answer is cached; asked again only after its TTL.
            Assert.Equal(DropReason.NoRoute, send.Process(t.GroupId, buffer, TwoAgents.WritePacket(buffer, "10.1.0.1", "10.1.0.99")));
            query = await ReadAsync(host, ChannelMessageType.DirectoryQuery, ChannelJsonContext.Default.DirectoryQuery, cts.Token);
            await host.WriteAsync(ChannelMessageType.DirectoryAnswer,
                JsonSerializer.SerializeToUtf8Bytes(new DirectoryAnswer(query.Id, query.Address, false, null, null, 3, 30), ChannelJsonContext.Default.DirectoryAnswer), cts.Token);
            answer = await agentEnd.ReadAsync(cts.Token) ?? throw new IOException("closed");
            await lookups.HandleAsync(agentEnd, answer, cts.Token);
            await WaitUntil(() => Interlocked.Read(ref lookups.NotFound) == 1, cts.Token);
            for (int i = 0; i < 10; i++)
            {
                send.Process(t.GroupId, buffer, TwoAgents.WritePacket(buffer, "10.1.0.1", "10.1.0.99"));
            }
            Assert.Equal(2, Interlocked.Read(ref lookups.Queries));
            t.Time.Advance(TimeSpan.FromSeconds(31));
            send.Process(t.GroupId, buffer, TwoAgents.WritePacket(buffer, "10.1.0.1", "10.1.0.99"));
            query = await ReadAsync(host, ChannelMessageType.DirectoryQuery, ChannelJsonContext.Default.DirectoryQuery, cts.Token);
            Assert.Equal("10.1.0.99", query.Address);
        }
        finally
        {
            await lookups.StopAsync(CancellationToken.None);
            await host.DisposeAsync();
            await agentEnd.DisposeAsync();
        }
    }

    private async Task<(ChannelConnection Host, ChannelConnection Agent)> ConnectAsync()
    {
        string path = Path.Combine(_dir, "channel.sock");
        _listener.Bind(new UnixDomainSocketEndPoint(path));
        _listener.Listen(1);
        _agentSocket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        Task<Socket> accept = _listener.AcceptAsync();
        await _agentSocket.ConnectAsync(new UnixDomainSocketEndPoint(path));
        _hostSocket = await accept;
        return (new ChannelConnection(new NetworkStream(_hostSocket, ownsSocket: false)), new ChannelConnection(new NetworkStream(_agentSocket, ownsSocket: false)));
    }

    private static Task WaitUntil(Func<bool> condition, CancellationToken cancellationToken) =>
        Poll.UntilAsync(condition, TimeSpan.FromSeconds(30), "the lookup's effect", interval: TimeSpan.FromMilliseconds(10), cancellationToken: cancellationToken);

    private static async Task<T> ReadAsync<T>(ChannelConnection connection, ChannelMessageType type,
        System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> info, CancellationToken cancellationToken)
        where T : class
    {
        while (true)
        {
            ChannelMessage m = await connection.ReadAsync(cancellationToken) ?? throw new IOException("closed");
            if (m.Type == type)
            {
                return ChannelConnection.TryParse(m.Payload, info, out string? error) ?? throw new InvalidDataException(error);
            }
        }
    }
}
