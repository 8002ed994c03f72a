using Microsoft.Extensions.Logging.Abstractions;
using OverlayKvm.Core.Channel;
using OverlayKvm.Core.Config;
using OverlayKvm.HostDaemon.Channel;

namespace OverlayKvm.HostDaemon.Tests.Channel;

/// <summary>
/// Documents larger than the guest's own messages may be (issue 11): overlayd sends up to
/// <see cref="ChannelProtocol.MaxHostMessageSize"/>; a document above even that is not pushed, and the channel stays.
/// </summary>
public sealed class OversizedDocumentTests
{
    [Fact]
    public async Task Push_DocumentOver1MiB_Sent_OverTheLimit_NotSent_ChannelKept()
    {
        using var end = new AgentEnd();
        var doc = Document(7, "aaaa", bytes: 2 << 20);
        await using var client = new DomainChannelClient("vm1", end.Path, () => Volatile.Read(ref doc), NullLogger.Instance);
        client.Start();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var agent = await end.AcceptAsync(cts.Token, ChannelProtocol.MaxHostMessageSize);

        // 2 MiB: more than the guest may send, well within what the host sends.
        Assert.Equal((7L, "aaaa"), Identify(await AgentEnd.NextConfigAsync(agent, cts.Token)));

        Volatile.Write(ref doc, Document(8, "bbbb", bytes: ChannelProtocol.MaxHostMessageSize + 1));
        client.NotifyChanged();
        while (client.OversizedDocuments == 0)
        {
            await Task.Delay(10, cts.Token);
        }

        Volatile.Write(ref doc, Document(9, "cccc", bytes: 100));
        client.NotifyChanged();
        // The same connection carries the next document: the oversized one did not end the channel.
        Assert.Equal((9L, "cccc"), Identify(await AgentEnd.NextConfigAsync(agent, cts.Token)));
        Assert.Equal(1, client.OversizedDocuments);
        Assert.Equal(0, client.RejectedMessages);
        Assert.True(client.Connected);
    }

    private static (long, string) Identify(DomainConfigDocument doc) => (doc.Version, doc.Digest);

    // The bulk sits in one app's manifest: the size is what matters here, not what makes it big.
    private static DomainConfigDocument Document(long version, string digest, int bytes) =>
        new(DomainConfigDocument.CurrentFormat, "vm1", version, digest, null, "h",
            [new LocalAppConfig("g", "a", "10.1.0.1", 100, [], [new DataObjectConfig("blob", new string('x', bytes), null)])], []);
}
