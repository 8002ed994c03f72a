using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using OverlayKvm.Core.Channel;
using OverlayKvm.Core.Config;
using OverlayKvm.HostDaemon.Channel;

namespace OverlayKvm.HostDaemon.Tests.Channel;

/// <summary>When overlayd's end of a domain channel pushes a configuration document, and when it does not.</summary>
public sealed class DomainChannelClientPushTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("okvm-dcp-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task NotifyChanged_SameVersionNewDigest_Pushed_UnchangedDocument_NotPushed()
    {
        string path = Path.Combine(_dir, "vm1.agent.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(1);
        // A retired key epoch leaves the document without a store change: same version, another digest.
        var doc = Document(7, "aaaa");
        await using var client = new DomainChannelClient("vm1", path, () => Volatile.Read(ref doc), NullLogger.Instance);
        client.Start();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using Socket accepted = await listener.AcceptAsync(cts.Token);
        await using var agent = new ChannelConnection(new NetworkStream(accepted, ownsSocket: false));

        Assert.Equal("aaaa", (await NextConfig(agent, cts.Token)).Digest);

        client.NotifyChanged(); // nothing changed: no push
        Volatile.Write(ref doc, Document(7, "bbbb"));
        client.NotifyChanged();
        var second = await NextConfig(agent, cts.Token);
        Assert.Equal((7L, "bbbb"), (second.Version, second.Digest));
    }

    private static DomainConfigDocument Document(long version, string digest) =>
        new(DomainConfigDocument.CurrentFormat, "vm1", version, digest, null, "h", [], []);

    private static async Task<DomainConfigDocument> NextConfig(ChannelConnection agent, CancellationToken ct)
    {
        while (true)
        {
            ChannelMessage m = await agent.ReadAsync(ct) ?? throw new IOException("overlayd closed the channel");
            if (m.Type == ChannelMessageType.Config)
                return ChannelConnection.TryParse(m.Payload, ChannelJsonContext.Default.DomainConfigDocument, out string? error)
                       ?? throw new InvalidDataException(error);
        }
    }
}
