using System.Net;
using System.Text;
using System.Text.Json;
using OverlayKvm.Core.Config;
using OverlayKvm.Core.Json;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.Store;
using OverlayKvm.HostDaemon.Store;

namespace OverlayKvm.HostDaemon.Tests.Store;

/// <summary>R0.2 over the real store: two groups, two domains; vm1 runs only group web, vm2 runs web and db.</summary>
public sealed class DomainConfigDocumentTests : IDisposable
{
    private readonly TempStore _temp = new();
    private readonly SqliteOverlayStore _store;
    private readonly DomainConfigBuilder _builder;

    public DomainConfigDocumentTests()
    {
        _store = _temp.Open();
        _builder = new DomainConfigBuilder(_store);
        _store.DefineGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed);
        _store.DefineGroup("db", IPNetwork.Parse("10.2.0.0/16"), ProtectionLevel.Authenticated);
        _store.UpsertDomain("vm1", null, "host-a", IPAddress.Parse("192.0.2.1"));
        _store.UpsertDomain("vm2", null, "host-b", IPAddress.Parse("192.0.2.2"));
        _store.DefineApplication("web", "frontend", null, "vm1", [new DataObject("/srv/www", "file:///img/www.tar", null)]);
        _store.DefineApplication("web", "api", null, "vm2", []);
        _store.DefineApplication("db", "primary", null, "vm2", []);
    }

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Build_DomainInGroupA_HasNoTraceOfGroupB()
    {
        var document = _builder.Build("vm1", includeSecrets: true);
        var json = Serialize(document);
        var dbKey = Convert.ToBase64String(_store.GetCredentials("db")[0].Key);
        var webKey = Convert.ToBase64String(_store.GetCredentials("web")[0].Key);

        var group = Assert.Single(document.Groups);
        Assert.Equal("web", group.Name);
        Assert.Equal(["api", "frontend"], group.Members.Select(m => m.Name));
        Assert.Equal(webKey, Convert.ToBase64String(Assert.Single(group.Credentials).Key));
        Assert.DoesNotContain(dbKey, json);
        Assert.DoesNotContain("primary", json);
        Assert.DoesNotContain("10.2.", json);
        Assert.DoesNotContain("\"db\"", json);
    }

    [Fact]
    public void Build_ListsExactlyItsAppsRoutesAndMembersWithHostingDomains()
    {
        var document = _builder.Build("vm2", includeSecrets: false);
        var web = _store.GetGroup("web")!;
        var db = _store.GetGroup("db")!;

        Assert.Equal("vm2", document.Domain);
        Assert.Equal("192.0.2.2", document.DomainAddress);
        Assert.Equal("host-b", document.Host);
        Assert.Equal([("db", "primary", "10.2.0.1"), ("web", "api", "10.1.0.2")], document.Apps.Select(a => (a.Group, a.Name, a.Address)));
        var api = document.Apps[1];
        Assert.Equal(RouteTables.ForGroup(web.Number), api.RouteTable);
        Assert.Equal(RouteTables.ForGroup(db.Number), document.Apps[0].RouteTable);
        Assert.NotEqual(api.RouteTable, document.Apps[0].RouteTable);
        Assert.Equal([new RouteEntry("10.1.0.0/16", "adapter", 100), new RouteEntry("default", "main", 1)], api.Routes);
        Assert.Equal(["db", "web"], document.Groups.Select(g => g.Name));
        Assert.Equal("Authenticated", document.Groups[0].Protection);
        Assert.Equal(
            [
                new MemberConfig("api", "10.1.0.2", "vm2", "192.0.2.2", "host-b") { Path = "same-vm", Actions = ["local"] },
                new MemberConfig("frontend", "10.1.0.1", "vm1", "192.0.2.1", "host-a") { Path = "untrusted", Actions = ["encapsulate", "seal"] },
            ],
            document.Groups[1].Members);
        Assert.True(DomainConfigDigest.IsValid(document));
    }

    [Fact]
    public void Build_SameState_IdenticalBytesAndDigest_AlsoAfterReopen()
    {
        var first = Serialize(_builder.Build("vm2", includeSecrets: true));
        var second = Serialize(_builder.Build("vm2", includeSecrets: true));
        _store.Dispose();
        using var reopened = _temp.Open();
        var third = Serialize(new DomainConfigBuilder(reopened).Build("vm2", includeSecrets: true));

        Assert.Equal(first, second);
        Assert.Equal(first, third);
    }

    [Fact]
    public void Build_UnrelatedChanges_DoNotBumpVersionOrDigest()
    {
        var before = _builder.Build("vm1", includeSecrets: true);

        _store.DefineApplication("db", "replica", null, "vm3", []);
        _store.RotateCredentials("db", TimeSpan.FromMinutes(5));
        _store.UpsertDomain("vm3", null, "host-b", IPAddress.Parse("192.0.2.3"));
        _store.UpsertHost("host-b", IPAddress.Parse("192.0.2.200"), 4);
        var after = _builder.Build("vm1", includeSecrets: true);

        Assert.True(_store.CurrentVersion() > before.Version + 3);
        Assert.Equal(before.Version, after.Version);
        Assert.Equal(before.Digest, after.Digest);
    }

    [Fact]
    public void Build_RelatedChanges_BumpVersionToTheChange()
    {
        var start = _builder.Build("vm1", includeSecrets: false);

        var rotated = _store.RotateCredentials("web", TimeSpan.FromMinutes(5));
        var afterRotate = _builder.Build("vm1", includeSecrets: false);
        _store.UpsertDomain("vm2", null, "host-b", IPAddress.Parse("192.0.2.22"));
        var afterMemberMoved = _builder.Build("vm1", includeSecrets: false);
        _store.UndefineApplication("web", "api");
        var afterMemberGone = _builder.Build("vm1", includeSecrets: false);

        Assert.True(afterRotate.Version > start.Version);
        Assert.Equal([1, rotated.Epoch], afterRotate.Groups[0].Credentials.Select(c => c.Epoch));
        Assert.Equal(_store.CurrentVersion() - 1, afterMemberMoved.Version);
        Assert.Equal("192.0.2.22", afterMemberMoved.Groups[0].Members.Single(m => m.Name == "api").DomainAddress);
        Assert.Equal(_store.CurrentVersion(), afterMemberGone.Version);
        Assert.Equal(["frontend"], afterMemberGone.Groups[0].Members.Select(m => m.Name));
    }

    [Fact]
    public void Build_PeerVmWithoutUnderlayAddress_IsLeftOutOfOthersDocuments_UntilItsAddressIsDeclared()
    {
        // Issue 14 item 9: one member nobody can address used to make every peer's agent refuse the whole document.
        _store.DefineApplication("web", "cache", null, "vm3", []);
        _store.UpsertDomain("vm4", null, "host-a", null);
        _store.DefineApplication("web", "worker", null, "vm4", []);

        var peers = _builder.Build("vm1", includeSecrets: false);
        var own = _builder.Build("vm4", includeSecrets: false);
        _store.UpsertDomain("vm4", null, "host-a", IPAddress.Parse("192.0.2.4"));
        var declared = _builder.Build("vm1", includeSecrets: false);

        Assert.Equal(["api", "frontend"], peers.Groups[0].Members.Select(m => m.Name));
        Assert.All(peers.Groups[0].Members, m => Assert.NotNull(m.DomainAddress));
        Assert.Contains(own.Groups[0].Members, m => m.Name == "worker" && m.DomainAddress is null);
        Assert.Equal(["api", "frontend", "worker"], declared.Groups[0].Members.Select(m => m.Name));
        Assert.True(declared.Version > peers.Version);
    }

    [Fact]
    public void Build_WithoutSecrets_KeysRedacted_WithSecrets_KeysPresent()
    {
        var key = _store.GetCredentials("web")[0].Key;

        var redacted = _builder.Build("vm1", includeSecrets: false);
        var full = _builder.Build("vm1", includeSecrets: true);

        Assert.Empty(Assert.Single(redacted.Groups[0].Credentials).Key);
        Assert.DoesNotContain(Convert.ToBase64String(key), Serialize(redacted));
        Assert.Equal(key, Assert.Single(full.Groups[0].Credentials).Key);
        Assert.Equal(redacted.Version, full.Version);
    }

    [Fact]
    public void Build_UnknownDomain_EntityNotFound()
    {
        var error = Assert.Throws<EntityNotFoundException>(() => _builder.Build("vm-nope", includeSecrets: false));

        Assert.Equal("domain", error.Kind);
    }

    [Fact]
    public void Build_DomainWithoutApps_EmptyDocumentWithItsOwnVersion()
    {
        var record = _store.UpsertDomain("idle", null, "host-a", IPAddress.Parse("192.0.2.9"));

        var document = _builder.Build("idle", includeSecrets: true);

        Assert.Empty(document.Apps);
        Assert.Empty(document.Groups);
        Assert.Equal(record.Version, document.Version);
    }

    private static string Serialize(DomainConfigDocument document) =>
        Encoding.UTF8.GetString(JsonSerializer.SerializeToUtf8Bytes(document, OverlayJsonContext.Default.DomainConfigDocument));
}
