using System.Net;
using OverlayKvm.Core.Config;
using OverlayKvm.Core.Crypto;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.Policy;
using OverlayKvm.Core.Store;

namespace OverlayKvm.Core.Tests.Config;

/// <summary>Neighbor groups in the document: only what policy relates, and only keys derived for the domain itself.</summary>
public sealed class DomainConfigNeighborTests
{
    private static readonly byte[] G3Key = Enumerable.Repeat((byte)3, 32).ToArray();

    [Fact]
    public void AllowPolicy_SenderSeesDestinationGroup_WithKeyDerivedForItself_NeverTheGroupKey()
    {
        var doc = DomainConfigBuilder.Build(Snapshot(Allow("G3", PolicySender.OfGroup("G2"))), "vmA", includeSecrets: true);

        var neighbor = Assert.Single(doc.Neighbors);
        Assert.Equal("G3", neighbor.Name);
        Assert.Equal(["G2"], neighbor.RelatedTo);
        Assert.Equal(["D"], neighbor.Members.Select(m => m.Name));
        var credential = Assert.Single(neighbor.SendCredentials);
        var expected = new byte[32];
        FrameKeySchedule.DeriveSenderKey(G3Key, OverlayIds.GroupId("G3"), 1, OverlayIds.SenderIndex("vmA"), expected);
        Assert.Equal(expected, credential.Key);
        Assert.NotEqual(G3Key, credential.Key);
        Assert.DoesNotContain(doc.Groups, g => g.Name == "G3");
        // B's routes lead G3's space into its adapter.
        Assert.Contains(doc.Apps.Single().Routes, r => r.Destination == "10.3.0.0/16" && r.Gateway == "adapter");
    }

    [Fact]
    public void AllowPolicy_DestinationSeesSenderGroup_ForItsReplies()
    {
        var doc = DomainConfigBuilder.Build(Snapshot(Allow("G3", PolicySender.OfGroup("G2"))), "vmB", includeSecrets: true);
        Assert.Equal(["G2"], doc.Neighbors.Select(n => n.Name));
    }

    [Theory]
    [InlineData("deny")]
    [InlineData("negated")]
    [InlineData("none")]
    public void NoAllowPolicyCrossing_NoNeighbor(string kind)
    {
        AccessPolicy[] policies = kind switch
        {
            "deny" => [new AccessPolicy(1, new PolicyDefinition("G3", [PolicySender.OfGroup("G2")], PolicyProtocol.Any, null, PolicyVerdict.Deny), 5)],
            "negated" => [Allow("G3", PolicySender.OfGroup("G2", negated: true))],
            _ => [],
        };
        var doc = DomainConfigBuilder.Build(Snapshot(policies), "vmA", includeSecrets: true);
        Assert.Empty(doc.Neighbors);
        Assert.DoesNotContain(doc.Apps.Single().Routes, r => r.Destination == "10.3.0.0/16");
    }

    [Fact]
    public void CidrAndAnySenders_RelateTheGroupsTheyCanMatch()
    {
        Assert.Single(DomainConfigBuilder.Build(Snapshot(Allow("G3", PolicySender.OfCidr(IPNetwork.Parse("10.2.0.0/24")))), "vmA", true).Neighbors);
        Assert.Single(DomainConfigBuilder.Build(Snapshot(Allow("G3", PolicySender.AnySender)), "vmA", true).Neighbors);
        Assert.Empty(DomainConfigBuilder.Build(Snapshot(Allow("G3", PolicySender.OfCidr(IPNetwork.Parse("10.9.0.0/16")))), "vmA", true).Neighbors);
    }

    [Fact]
    public void WithoutSecrets_NeighborKeysAreRedacted()
    {
        var doc = DomainConfigBuilder.Build(Snapshot(Allow("G3", PolicySender.OfGroup("G2"))), "vmA", includeSecrets: false);
        Assert.Empty(doc.Neighbors.Single().SendCredentials.Single().Key);
    }

    private static AccessPolicy Allow(string destination, PolicySender sender) =>
        new(1, new PolicyDefinition(destination, [sender], PolicyProtocol.Tcp, new PortRange(80, 80), PolicyVerdict.Allow), 5);

    private static StoreSnapshot Snapshot(params AccessPolicy[] policies)
    {
        var now = new DateTimeOffset(2026, 11, 25, 0, 0, 0, TimeSpan.Zero);
        ApplicationGroup[] groups =
        [
            new("G2", IPNetwork.Parse("10.2.0.0/16"), ProtectionLevel.Sealed, 1) { Number = 2 },
            new("G3", IPNetwork.Parse("10.3.0.0/16"), ProtectionLevel.Sealed, 1) { Number = 3 },
        ];
        Application[] apps = [new("G2", "B", IPAddress.Parse("10.2.0.2"), "vmA", [], 2), new("G3", "D", IPAddress.Parse("10.3.0.4"), "vmB", [], 2)];
        DomainRecord[] domains = [new("vmA", null, "h", IPAddress.Parse("192.0.2.1"), 1), new("vmB", null, "h", IPAddress.Parse("192.0.2.2"), 1)];
        var credentials = new Dictionary<string, IReadOnlyList<GroupCredential>>
        {
            ["G2"] = [new GroupCredential("G2", 1, Enumerable.Repeat((byte)2, 32).ToArray(), now, null)],
            ["G3"] = [new GroupCredential("G3", 1, G3Key, now, null)],
        };
        return new StoreSnapshot(10, groups, apps, domains, [], credentials) { Policies = policies };
    }
}
