using System.Net;
using OverlayKvm.Core.Config;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.Policy;
using OverlayKvm.Core.Store;
using OverlayKvm.HostDaemon.Store;
using OverlayKvm.HostDaemon.Tests.Store;

namespace OverlayKvm.HostDaemon.Tests.Policy;

/// <summary>Policies and group nesting in the SQLite store: validation, versioning, persistence, referential checks, migration.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class SqliteOverlayStorePolicyTests : IDisposable
{
    private readonly TempStore _temp = new();

    public void Dispose() => _temp.Dispose();

    private static PolicyDefinition Http(string destination = "G3", string from = "G2") =>
        new(destination, [PolicyText.ParseSender("from", from)], PolicyProtocol.Tcp, new PortRange(80, 80), PolicyVerdict.Allow);

    private SqliteOverlayStore OpenWithGroups(params string[] groups)
    {
        var store = _temp.Open();
        for (var i = 0; i < groups.Length; i++) store.DefineGroup(groups[i], IPNetwork.Parse($"10.{i + 1}.0.0/16"), ProtectionLevel.Sealed);
        return store;
    }

    [Fact]
    public void AddPolicy_StoredWithIdAndVersion_SurvivesReopen_IdsNeverReused()
    {
        using (var store = OpenWithGroups("G2", "G3"))
        {
            var first = store.AddPolicy(Http());
            Assert.Equal(1, first.Id);
            Assert.Equal(store.CurrentVersion(), first.Version);
            store.RemovePolicy(first.Id);
            var second = store.AddPolicy(Http() with { Senders = [PolicySender.OfGroup("G2"), PolicySender.OfApp("G2", "bad", negated: true)] });
            Assert.Equal(2, second.Id);
        }

        using var reopened = _temp.Open();
        var stored = Assert.Single(reopened.ListPolicies());
        Assert.Equal(2, stored.Id);
        Assert.Equal("G3 accepts tcp/80 from group:G2, not:app:G2/bad", PolicyText.Describe(stored.Definition));
        Assert.Equal(stored, reopened.GetPolicy(2) is { } p ? p with { Definition = stored.Definition } : null);
        Assert.Equal([stored.Id], reopened.ListPolicies("G3").Select(x => x.Id));
        Assert.Empty(reopened.ListPolicies("G2"));
        Assert.Throws<EntityNotFoundException>(() => reopened.ListPolicies("nosuch"));
    }

    [Fact]
    public void AddPolicy_Refusals_CommitNothing()
    {
        using var store = OpenWithGroups("G2", "G3");
        store.AddPolicy(Http());
        var before = store.CurrentVersion();

        Assert.Equal("group", Assert.Throws<EntityNotFoundException>(() => store.AddPolicy(Http(destination: "nosuch"))).Kind);
        Assert.Equal("nosuch", Assert.Throws<EntityNotFoundException>(() => store.AddPolicy(Http(from: "app:nosuch/x"))).Name);
        var same = Assert.Throws<ModelValidationException>(() => store.AddPolicy(Http()));
        Assert.True(same.IsConflict);
        Assert.Contains("identical to policy 1", same.Message);
        var twoSenders = store.AddPolicy(Http() with { Senders = [PolicySender.OfGroup("G2"), PolicySender.OfCidr(IPNetwork.Parse("10.9.0.0/16"))] });
        var reordered = Assert.Throws<ModelValidationException>(() => store.AddPolicy(Http() with { Senders = [PolicySender.OfCidr(IPNetwork.Parse("10.9.0.0/16")), PolicySender.OfGroup("G2")] }));
        Assert.Contains($"identical to policy {twoSenders.Id}", reordered.Message);
        before = store.CurrentVersion();
        Assert.Throws<ModelValidationException>(() => store.AddPolicy(Http() with { Protocol = PolicyProtocol.Icmp }));
        Assert.Throws<ModelValidationException>(() => store.AddPolicy(Http() with { Senders = [] }));

        Assert.Equal(before, store.CurrentVersion());
        Assert.Equal(2, store.ListPolicies().Count);
    }

    [Fact]
    public void AddAndRemovePolicy_StampDestinationAndSubGroups_DocumentsRise()
    {
        using var store = OpenWithGroups("G2", "G3", "G5", "G9");
        store.SetGroupParent("G5", "G3");
        store.DefineApplication("G5", "e", null, "vm5", []);
        store.DefineApplication("G9", "z", null, "vm9", []);
        var builder = new DomainConfigBuilder(store);
        var before5 = builder.Build("vm5", false).Version;
        var before9 = builder.Build("vm9", false);
        static (long, string) Stamp(DomainConfigDocument d) => (d.Version, d.Digest);

        var policy = store.AddPolicy(Http());
        var with5 = builder.Build("vm5", false);
        Assert.Equal(policy.Version, with5.Version);
        Assert.True(with5.Version > before5);
        Assert.Equal([policy.Id], with5.Policies.Select(p => p.Id));
        Assert.Equal(store.CurrentVersion(), store.GetGroup("G3")!.Version);
        Assert.Equal(store.CurrentVersion(), store.GetGroup("G5")!.Version);
        Assert.Equal(Stamp(before9), Stamp(builder.Build("vm9", false))); // unrelated document: same version, same digest

        store.RemovePolicy(policy.Id);
        var after5 = builder.Build("vm5", false);
        Assert.Empty(after5.Policies);
        Assert.True(after5.Version > with5.Version);
        Assert.Throws<EntityNotFoundException>(() => store.RemovePolicy(policy.Id));
    }

    [Fact]
    public void NestingBelowASenderGroup_ChangesReceiverDocument_VersionRisesBothWays()
    {
        using var store = OpenWithGroups("G2", "G3", "G4");
        store.DefineApplication("G3", "d", null, "vm3", []);
        store.AddPolicy(Http());
        var builder = new DomainConfigBuilder(store);
        var plain = builder.Build("vm3", false);

        store.SetGroupParent("G4", "G2");
        var nested = builder.Build("vm3", false);
        Assert.Equal([new GroupParentConfig("G4", "G2")], nested.GroupParents);
        Assert.True(nested.Version > plain.Version);

        store.SetGroupParent("G4", null);
        var unnested = builder.Build("vm3", false);
        Assert.Empty(unnested.GroupParents);
        Assert.True(unnested.Version > nested.Version, "a row leaving the document must raise its version too");
    }

    [Fact]
    public void SetGroupParent_CycleRefused_SameParentCommitsNothing_UnnestWorks()
    {
        using var store = OpenWithGroups("A", "B", "C");
        store.SetGroupParent("B", "A");
        var row = store.SetGroupParent("C", "B")!;
        Assert.Equal(("C", "B"), (row.Group, row.Parent));
        var version = store.CurrentVersion();

        var cycle = Assert.Throws<ModelValidationException>(() => store.SetGroupParent("A", "C"));
        Assert.True(cycle.IsConflict);
        Assert.Equal(row, store.SetGroupParent("C", "B"));
        Assert.Equal(version, store.CurrentVersion());
        Assert.Throws<EntityNotFoundException>(() => store.SetGroupParent("C", "nosuch"));
        Assert.Throws<EntityNotFoundException>(() => store.SetGroupParent("nosuch", "A"));

        Assert.Null(store.SetGroupParent("C", null));
        Assert.Equal(version + 1, store.CurrentVersion());
        Assert.Null(store.SetGroupParent("C", null));
        Assert.Equal(version + 1, store.CurrentVersion());
        Assert.Equal([("B", "A")], store.ListGroupParents().Select(r => (r.Group, r.Parent)));
        Assert.Equal(store.ListGroupParents(), store.ReadSnapshot().GroupParents);
    }

    [Fact]
    public void UndefineGroup_WhileNamedByPolicyOrParentOfSubGroup_Refused_ChildReleasesItsRow()
    {
        using var store = OpenWithGroups("G2", "G3", "G5");
        var policy = store.AddPolicy(Http());
        store.SetGroupParent("G5", "G3");
        var version = store.CurrentVersion();

        Assert.Contains("has sub-groups G5", Assert.Throws<ModelValidationException>(() => store.UndefineGroup("G3")).Message);
        Assert.Contains("a sender of policy 1", Assert.Throws<ModelValidationException>(() => store.UndefineGroup("G2")).Message);
        Assert.Equal(version, store.CurrentVersion());
        store.SetGroupParent("G5", null);
        var destination = Assert.Throws<ModelValidationException>(() => store.UndefineGroup("G3"));
        Assert.True(destination.IsConflict);
        Assert.Contains("the destination of policy 1; remove the policy first (policy-remove 1)", destination.Message);

        store.RemovePolicy(policy.Id);
        store.UndefineGroup("G3");
        Assert.Null(store.GetGroup("G3"));
        store.SetGroupParent("G5", "G2");
        store.UndefineGroup("G5");
        Assert.Empty(store.ListGroupParents());
    }

    [Fact]
    public void Open_StoreFromSchema1_MigratesToLatest_KeepsData()
    {
        using (var store = OpenWithGroups("G2", "G3"))
        {
        }

        // What overlayd before policies left on disk: schema 1 only.
        _temp.Execute("DROP TABLE policies; DROP TABLE group_parents; ALTER TABLE groups DROP COLUMN cipher; DELETE FROM schema_version WHERE version >= 2;");

        Assert.Equal(1L, _temp.QueryScalar("SELECT MAX(version) FROM schema_version"));
        using var migrated = _temp.Open();
        Assert.Equal((long)SqliteSchema.Latest, _temp.QueryScalar("SELECT MAX(version) FROM schema_version"));
        Assert.Equal(["G2", "G3"], migrated.ListGroups().Select(g => g.Name));
        Assert.Equal(1, migrated.AddPolicy(Http()).Id);
    }

    [Fact]
    public void ReadSnapshot_CarriesPoliciesAndNesting_AtOneVersion()
    {
        using var store = OpenWithGroups("G2", "G3");
        store.AddPolicy(Http());
        store.SetGroupParent("G2", "G3");

        var snapshot = store.ReadSnapshot();

        Assert.Equal(store.CurrentVersion(), snapshot.Version);
        Assert.Equal(store.ListPolicies(), snapshot.Policies, (a, b) => a.Id == b.Id && PolicyText.Describe(a.Definition) == PolicyText.Describe(b.Definition) && a.Version == b.Version);
        Assert.Equal(("G2", "G3"), (snapshot.GroupParents[0].Group, snapshot.GroupParents[0].Parent));
    }
}
