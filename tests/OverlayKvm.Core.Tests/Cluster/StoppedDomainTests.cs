using System.Net;
using OverlayKvm.Core.Config;
using OverlayKvm.Core.DirectoryService;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.Policy;
using OverlayKvm.Core.Store;

namespace OverlayKvm.Core.Tests.Cluster;

/// <summary>
/// Issue 15: a domain its host saw destroyed or undefined leaves its peers' documents (their agents flush its routes
/// and rules) with a higher version, and is unreachable in the directory; started again, it comes back.
/// </summary>
public sealed class StoppedDomainTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);

    private static StoreSnapshot Snapshot(bool serverStopped, long serverVersion) => new(
        serverVersion,
        [new ApplicationGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed, 1) { Number = 1 }],
        [
            new Application("web", "client", IPAddress.Parse("10.1.0.1"), "vm1", [], 2),
            new Application("web", "server", IPAddress.Parse("10.1.0.2"), "vm2", [], 3),
        ],
        [
            new DomainRecord("vm1", null, "hA", IPAddress.Parse("192.168.50.11"), 1),
            new DomainRecord("vm2", null, "hA", IPAddress.Parse("192.168.50.12"), serverVersion, serverStopped),
        ],
        [new HostRecord("hA", IPAddress.Parse("192.168.50.1"), 4, 1)],
        new Dictionary<string, IReadOnlyList<GroupCredential>> { ["web"] = [new GroupCredential("web", 1, new byte[32], Now, null)] });

    [Fact]
    public void Build_PeerStopped_MemberLeftOut_VersionRises()
    {
        var running = DomainConfigBuilder.Build(Snapshot(false, 3), "vm1", includeSecrets: false, PolicyDefaults.Standard, null);
        var stopped = DomainConfigBuilder.Build(Snapshot(true, 4), "vm1", includeSecrets: false, PolicyDefaults.Standard, null);

        Assert.Equal(["client", "server"], running.Groups[0].Members.Select(m => m.Name));
        Assert.Equal(["client"], stopped.Groups[0].Members.Select(m => m.Name));
        Assert.True(stopped.Version > running.Version, $"document version {stopped.Version} after the stop is not above {running.Version}");
        Assert.NotEqual(running.Digest, stopped.Digest);
    }

    [Fact]
    public void Build_PeerStartedAgain_MemberBack_VersionRisesAgain()
    {
        var stopped = DomainConfigBuilder.Build(Snapshot(true, 4), "vm1", includeSecrets: false, PolicyDefaults.Standard, null);
        var again = DomainConfigBuilder.Build(Snapshot(false, 5), "vm1", includeSecrets: false, PolicyDefaults.Standard, null);

        Assert.Equal(["client", "server"], again.Groups[0].Members.Select(m => m.Name));
        Assert.True(again.Version > stopped.Version);
    }

    [Fact]
    public void Lookup_DestinationStopped_UnreachableAndDropped()
    {
        var directory = OverlayDirectory.Build(Snapshot(true, 4), PolicyDefaults.Standard, TransformationTable.Standard, [], null);
        Assert.True(directory.TryFind("web", "client", out var client));
        Assert.True(directory.TryFind("web", "server", out var server));

        var toServer = directory.Lookup(client, server, IpProtocolNumbers.Tcp, 80);

        Assert.False(server.Reachable);
        Assert.True(client.Reachable);
        Assert.Equal([TransformAction.Drop], toServer.Actions);
    }
}
