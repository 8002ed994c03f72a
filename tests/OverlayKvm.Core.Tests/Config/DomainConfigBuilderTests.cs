using System.Net;
using System.Text.Json;
using OverlayKvm.Core.Config;
using OverlayKvm.Core.Json;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.Store;

namespace OverlayKvm.Core.Tests.Config;

/// <summary>The builder over hand-made snapshots: ordering, version attribution, digest, JSON shape.</summary>
public sealed class DomainConfigBuilderTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Build_VersionIsHighestContributingRecord()
    {
        var snapshot = Snapshot(
            groups: [Group("web", "10.1.0.0/16", version: 4, number: 1), Group("db", "10.2.0.0/16", version: 90, number: 2)],
            apps: [App("web", "a", "10.1.0.1", "vm1", 5), App("web", "b", "10.1.0.2", "vm2", 7), App("db", "x", "10.2.0.1", "vm2", 95)],
            domains: [Domain("vm1", 2), Domain("vm2", 6)]);

        var document = DomainConfigBuilder.Build(snapshot, "vm1", includeSecrets: false);

        Assert.Equal(7, document.Version);
    }

    [Fact]
    public void Build_InputOrderDoesNotMatter_SameBytes()
    {
        var groups = new[] { Group("web", "10.1.0.0/16", 1, 1), Group("api", "10.3.0.0/16", 1, 3) };
        var apps = new[] { App("web", "b", "10.1.0.2", "vm1", 3), App("api", "z", "10.3.0.9", "vm1", 3), App("web", "a", "10.1.0.1", "vm2", 3) };
        var domains = new[] { Domain("vm2", 1), Domain("vm1", 1) };

        var forward = Serialize(DomainConfigBuilder.Build(Snapshot(groups, apps, domains), "vm1", includeSecrets: true));
        var backward = Serialize(DomainConfigBuilder.Build(
            Snapshot([.. groups.Reverse()], [.. apps.Reverse()], [.. domains.Reverse()]), "vm1", includeSecrets: true));

        Assert.Equal(forward, backward);
        Assert.Contains("\"apps\":[{\"group\":\"api\",\"name\":\"z\"", forward);
    }

    [Fact]
    public void Build_MemberOnUnknownDomain_LeftOut_NothingCouldAddressIt()
    {
        // Issue 14 item 9: a member without an underlay address made the receiving agent refuse the whole document.
        var snapshot = Snapshot([Group("web", "10.1.0.0/16", 1, 1)], [App("web", "a", "10.1.0.1", "vm1", 2), App("web", "b", "10.1.0.2", "ghost", 2)], [Domain("vm1", 1)]);

        var members = DomainConfigBuilder.Build(snapshot, "vm1", includeSecrets: false).Groups[0].Members;

        Assert.Equal(["a"], members.Select(m => m.Name));
    }

    [Fact]
    public void Build_AppOfGroupMissingFromSnapshot_ClearError()
    {
        var snapshot = Snapshot([], [App("gone", "a", "10.1.0.1", "vm1", 2)], [Domain("vm1", 1)]);

        var error = Assert.Throws<InvalidOperationException>(() => DomainConfigBuilder.Build(snapshot, "vm1", includeSecrets: false));

        Assert.Equal("domain vm1: app gone/a refers to group gone, which the store snapshot at version 100 does not hold", error.Message);
    }

    [Fact]
    public void Digest_CoversContent_AndRoundTripsThroughJson()
    {
        var snapshot = Snapshot([Group("web", "10.1.0.0/16", 1, 1)], [App("web", "a", "10.1.0.1", "vm1", 2)], [Domain("vm1", 1)]);
        var document = DomainConfigBuilder.Build(snapshot, "vm1", includeSecrets: true);

        var json = Serialize(document);
        var parsed = JsonSerializer.Deserialize(json, OverlayJsonContext.Default.DomainConfigDocument)!;

        Assert.Matches("^[0-9a-f]{64}$", document.Digest);
        Assert.True(DomainConfigDigest.IsValid(parsed));
        Assert.Equal(json, Serialize(parsed));
        Assert.False(DomainConfigDigest.IsValid(parsed with { Host = "elsewhere" }));
        Assert.StartsWith("{\"formatVersion\":2,\"domain\":\"vm1\",", json);
    }

    /// <summary>Issue 16: the group's cipher travels in the document; format 3 only when a group needs it, so older agents refuse it.</summary>
    [Fact]
    public void Build_AegisGroup_CipherInDocument_Format3_ChaChaOnlyStaysFormat2_AbsentFieldReadsAsChaCha()
    {
        var domains = new[] { Domain("vm1", 1), Domain("vm2", 1) };
        var apps = new[] { App("web", "a", "10.1.0.1", "vm1", 2), App("web", "b", "10.1.0.2", "vm2", 2) };
        var chacha = DomainConfigBuilder.Build(Snapshot([Group("web", "10.1.0.0/16", 1, 1)], apps, domains), "vm1", includeSecrets: false);
        var aegis = DomainConfigBuilder.Build(
            Snapshot([Group("web", "10.1.0.0/16", 1, 1) with { Cipher = GroupCipher.Aegis256 }], apps, domains), "vm1", includeSecrets: false);

        Assert.Equal(2, chacha.FormatVersion);
        Assert.Equal("chacha20-poly1305", chacha.Groups[0].Cipher);
        Assert.Equal(3, aegis.FormatVersion);
        Assert.Equal("aegis-256", aegis.Groups[0].Cipher);
        string json = Serialize(aegis);
        Assert.Contains("\"cipher\":\"aegis-256\"", json);
        Assert.NotEqual(chacha.Digest, aegis.Digest);
        Assert.Equal("aegis-256", JsonSerializer.Deserialize(json, OverlayJsonContext.Default.DomainConfigDocument)!.Groups[0].Cipher);

        // A format-2 document from an older overlayd has no cipher field: ChaCha20-Poly1305, the only cipher it had.
        string old = Serialize(chacha).Replace(",\"cipher\":\"chacha20-poly1305\"", "");
        Assert.DoesNotContain("cipher", old);
        Assert.Equal("chacha20-poly1305", JsonSerializer.Deserialize(old, OverlayJsonContext.Default.DomainConfigDocument)!.Groups[0].Cipher);
    }

    private static string Serialize(DomainConfigDocument document) =>
        JsonSerializer.Serialize(document, OverlayJsonContext.Default.DomainConfigDocument);

    private static ApplicationGroup Group(string name, string space, long version, int number) =>
        new(name, IPNetwork.Parse(space), ProtectionLevel.Sealed, version) { Number = number };

    private static Application App(string group, string name, string address, string domain, long version) =>
        new(group, name, IPAddress.Parse(address), domain, [], version);

    private static DomainRecord Domain(string name, long version) =>
        new(name, null, "host-a", IPAddress.Parse($"192.0.2.{name.Length}"), version);

    private static StoreSnapshot Snapshot(ApplicationGroup[] groups, Application[] apps, DomainRecord[] domains)
    {
        var credentials = groups.ToDictionary(
            g => g.Name,
            g => (IReadOnlyList<GroupCredential>)[new GroupCredential(g.Name, 1, new byte[32], Now, null)]);
        return new StoreSnapshot(100, groups, apps, domains, [], credentials);
    }
}
