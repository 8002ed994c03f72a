using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OverlayKvm.Core.Channel;
using OverlayKvm.Core.Config;
using OverlayKvm.GuestAgent.Channel;
using OverlayKvm.GuestAgent.Config;
using OverlayKvm.GuestAgent.Hosting;
using OverlayKvm.GuestAgent.Pipeline;
using OverlayKvm.GuestAgent.Policy;
using OverlayKvm.GuestAgent.Tests.Doubles;
using OverlayKvm.GuestAgent.Tun;
using OverlayKvm.TestSupport;

namespace OverlayKvm.GuestAgent.Tests.Channel;

/// <summary>
/// Documents of a large group over the real channel framing (issue 11): the change-propagation bench stopped at its
/// 128th app because the agent lost its channel when the group's member 10.1.1.128 arrived (a member address with a
/// last octet of 128 or more threw while the policy endpoints were built, and the exception ended the channel).
/// </summary>
public sealed class LargeDocumentTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ovk-agent-large-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Config_GroupGrowsTo12000Members_EveryVersionApplied_ChannelStaysUp()
    {
        var (service, state) = NewService();
        using var cts = new CancellationTokenSource();
        await service.StartAsync(cts.Token);
        try
        {
            await using var host = await ConnectHostAsync();
            Assert.Equal(ChannelMessageType.Hello, (await NextAsync(host, "hello")).Type);

            // The bench's pattern: one member more per version, addresses 10.1.1.1, .2, ... crossing .128 at member 128;
            // then a group whose document (about 1.2 MB) is larger than anything the guest may send.
            foreach (int members in new[] { 127, 128, 129, 1000, 1001, 12_000 })
            {
                DomainConfigDocument doc = Document(members, version: members);
                if (members == 12_000)
                {
                    Assert.True(System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(doc, ChannelJsonContext.Default.DomainConfigDocument).Length > ChannelProtocol.DefaultMaxMessageSize);
                }
                await host.WriteJsonAsync(ChannelMessageType.Config, doc, ChannelJsonContext.Default.DomainConfigDocument, default);
                ChannelMessage answer = await NextAsync(host, $"the ack of the document with {members + 1} members");
                Assert.Equal(ChannelMessageType.ConfigAck, answer.Type);
                ConfigAckMessage ack = ChannelConnection.TryParse(answer.Payload, ChannelJsonContext.Default.ConfigAckMessage, out _)!;
                Assert.True(ack.Applied, $"{members} members: {ack.Error}");
                Assert.Equal(members, state.Current!.Version);
            }

            // Still the same connection: it answers a heartbeat.
            await host.WriteAsync(ChannelMessageType.Heartbeat, ReadOnlyMemory<byte>.Empty, default);
            Assert.Equal(ChannelMessageType.Heartbeat, (await NextAsync(host, "the heartbeat")).Type);
            Assert.Equal(0, service.RejectedMessages);
        }
        finally
        {
            await cts.CancelAsync();
            await service.StopAsync(default);
        }
    }

    /// <summary>
    /// vmB runs app "b"; the group "web" has it plus <paramref name="others"/> apps spread over 40 other VMs whose
    /// underlay addresses (192.0.2.100-139) also cross the .128 boundary.
    /// </summary>
    internal static DomainConfigDocument Document(int others, long version)
    {
        var members = new List<MemberConfig>(others + 1) { new("b", "10.1.0.2", "vmB", TwoAgents.VmBAddress, "hB") };
        for (int i = 0; i < others; i++)
        {
            members.Add(new MemberConfig($"c{i}", $"10.1.{1 + i / 250}.{1 + i % 250}", $"vm{i % 40}", $"192.0.2.{100 + i % 40}", "hA"));
        }
        var app = new LocalAppConfig("web", "b", "10.1.0.2", 102, [new RouteEntry("10.1.0.0/16", "adapter", 100)], []);
        var key = new CredentialConfig(1, new byte[32], null);
        return MemberRouting.Apply(new DomainConfigDocument(DomainConfigDocument.CurrentFormat, "vmB", version, "", TwoAgents.VmBAddress, "hB", [app],
            [new GroupConfig("web", "10.1.0.0/16", "Sealed", members, [key])]), OverlayKvm.Core.DirectoryService.PathClassifier.Standard);
    }

    private (HostChannelService Service, AgentState State) NewService() => AgentChannel.NewService(_dir);

    // As overlayd opens it: documents up to MaxHostMessageSize to the agent.
    private Task<ChannelConnection> ConnectHostAsync() => AgentChannel.ConnectHostAsync(_dir, ChannelProtocol.MaxHostMessageSize);

    private static async Task<ChannelMessage> NextAsync(ChannelConnection connection, string awaited)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        return await connection.ReadAsync(cts.Token) ?? throw new IOException($"the agent closed the channel instead of sending {awaited}");
    }
}
