using System.Net;
using OverlayKvm.Core.Config;
using OverlayKvm.Core.DirectoryService;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.Policy;
using OverlayKvm.Core.Store;

namespace OverlayKvm.Core.Tests.Cluster;

/// <summary>
/// Issue 11 (hosts): a member whose host's lease expired leaves its peers' documents (their agents count no-route)
/// and is unreachable in the directory; when the host is alive again it comes back, in the same bytes as before.
/// </summary>
public sealed class DownHostTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);

    private static StoreSnapshot Snapshot() => new(
        9,
        [new ApplicationGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed, 1) { Number = 1 }],
        [
            new Application("web", "client", IPAddress.Parse("10.1.0.1"), "vmA", [], 2),
            new Application("web", "near", IPAddress.Parse("10.1.0.3"), "vmA2", [], 2),
            new Application("web", "server", IPAddress.Parse("10.1.0.2"), "vmB", [], 3),
        ],
        [
            new DomainRecord("vmA", null, "hA", IPAddress.Parse("192.168.50.11"), 1),
            new DomainRecord("vmA2", null, "hA", IPAddress.Parse("192.168.50.12"), 1),
            new DomainRecord("vmB", null, "hB", IPAddress.Parse("192.168.50.21"), 1),
        ],
        [new HostRecord("hA", IPAddress.Parse("192.168.50.1"), 4, 1), new HostRecord("hB", IPAddress.Parse("192.168.50.2"), 4, 1)],
        new Dictionary<string, IReadOnlyList<GroupCredential>> { ["web"] = [new GroupCredential("web", 1, new byte[32], Now, null)] });

    private static bool OnlyHostAAlive(string host) => host == "hA";

    [Fact]
    public void Build_PeerHostDown_MemberLeftOutAndDigestChanges()
    {
        var all = DomainConfigBuilder.Build(Snapshot(), "vmA", includeSecrets: false, PolicyDefaults.Standard, null);
        var withoutB = DomainConfigBuilder.Build(Snapshot(), "vmA", includeSecrets: false, PolicyDefaults.Standard, OnlyHostAAlive);

        Assert.Equal(["client", "near", "server"], all.Groups[0].Members.Select(m => m.Name));
        Assert.Equal(["client", "near"], withoutB.Groups[0].Members.Select(m => m.Name));
        Assert.NotEqual(all.Digest, withoutB.Digest);
    }

    [Fact]
    public void Build_PeerHostBack_SameDocumentAsBefore()
    {
        var before = DomainConfigBuilder.Build(Snapshot(), "vmA", includeSecrets: false, PolicyDefaults.Standard, null);
        _ = DomainConfigBuilder.Build(Snapshot(), "vmA", includeSecrets: false, PolicyDefaults.Standard, OnlyHostAAlive);
        var after = DomainConfigBuilder.Build(Snapshot(), "vmA", includeSecrets: false, PolicyDefaults.Standard, _ => true);

        Assert.Equal(before.Digest, after.Digest);
    }

    [Fact]
    public void Build_OwnHostUnknownToLiveness_OwnAppsStillListed()
    {
        // A document is built by the domain's own host, which is alive by definition; its own members never drop out.
        var document = DomainConfigBuilder.Build(Snapshot(), "vmB", includeSecrets: false, PolicyDefaults.Standard, OnlyHostAAlive);

        Assert.Equal(["client", "near", "server"], document.Groups[0].Members.Select(m => m.Name));
        Assert.Single(document.Apps);
    }

    [Fact]
    public void Lookup_DestinationHostDown_UnreachableAndDropped()
    {
        var directory = OverlayDirectory.Build(Snapshot(), PolicyDefaults.Standard, TransformationTable.Standard, [], OnlyHostAAlive);
        Assert.True(directory.TryFind("web", "client", out var client));
        Assert.True(directory.TryFind("web", "server", out var server));
        Assert.True(directory.TryFind("web", "near", out var near));

        var toB = directory.Lookup(client, server, IpProtocolNumbers.Tcp, 80);
        var toNear = directory.Lookup(client, near, IpProtocolNumbers.Tcp, 80);

        Assert.False(server.Reachable);
        Assert.Equal([TransformAction.Drop], toB.Actions);
        Assert.Equal(PathClass.Untrusted, toB.Path);
        Assert.True(near.Reachable);
        Assert.Equal([TransformAction.Engine], toNear.Actions);
    }
}
