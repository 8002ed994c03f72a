using Microsoft.Extensions.Logging.Abstractions;
using OverlayKvm.Core.Channel;
using OverlayKvm.Core.Config;
using OverlayKvm.HostDaemon.Channel;

namespace OverlayKvm.HostDaemon.Tests.Channel;

/// <summary>When overlayd's end of a domain channel pushes a configuration document, and when it does not.</summary>
public sealed class DomainChannelClientPushTests
{
    [Fact]
    public async Task NotifyChanged_SameVersionNewDigest_Pushed_UnchangedDocument_NotPushed()
    {
        using var end = new AgentEnd();
        // A retired key epoch leaves the document without a store change: same version, another digest.
        var doc = Document(7, "aaaa");
        await using var client = new DomainChannelClient("vm1", end.Path, () => Volatile.Read(ref doc), NullLogger.Instance);
        client.Start();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await using var agent = await end.AcceptAsync(cts.Token);

        Assert.Equal("aaaa", (await AgentEnd.NextConfigAsync(agent, cts.Token)).Digest);

        client.NotifyChanged(); // nothing changed: no push
        Volatile.Write(ref doc, Document(7, "bbbb"));
        client.NotifyChanged();
        var second = await AgentEnd.NextConfigAsync(agent, cts.Token);
        Assert.Equal((7L, "bbbb"), (second.Version, second.Digest));
    }

    private static DomainConfigDocument Document(long version, string digest) =>
        new(DomainConfigDocument.CurrentFormat, "vm1", version, digest, null, "h", [], []);
}
