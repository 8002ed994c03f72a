using OverlayKvm.Core.Store;
using System.Net;
using OverlayKvm.Core.Model;

namespace OverlayKvm.HostDaemon.Tests.Store.Contract;

public abstract class StoreSnapshotContract(IStoreHarness harness) : StoreContract(harness)
{
    [Fact]
    public void ReadSnapshot_Unchanged_ReusesSameSnapshot()
    {
        using var store = Harness.Open();
        store.DefineGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed);

        Assert.Same(store.ReadSnapshot(), store.ReadSnapshot());
    }

    [Fact]
    public void ReadSnapshot_WriteThroughAnotherStoreInstance_Seen()
    {
        using var store = Harness.Open();
        store.DefineGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed);
        var before = store.ReadSnapshot();

        using (var other = Harness.Open())
        {
            Harness.WaitForVersion(other, before.Version);
            other.DefineApplication("web", "a", null, "vm1", []);
        }

        Harness.WaitForVersion(store, before.Version + 1);

        var after = store.ReadSnapshot();
        Assert.Equal(before.Version + 1, after.Version);
        Assert.Equal("a", Assert.Single(after.Applications).Name);
    }

    [Fact]
    public void ReadSnapshot_KeyRetiresWithoutWrite_DroppedFromSnapshot()
    {
        using var store = Harness.Open();
        store.DefineGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed);
        store.RotateCredentials("web", TimeSpan.FromMinutes(2));
        Assert.Equal([1, 2], store.ReadSnapshot().Credentials["web"].Select(c => c.Epoch));

        Harness.Time.Advance(TimeSpan.FromMinutes(2));

        Assert.Equal([2], store.ReadSnapshot().Credentials["web"].Select(c => c.Epoch));
    }

    [Fact]
    public void ReadSnapshot_ListsAreReadOnlyViews()
    {
        using var store = Harness.Open();
        store.DefineGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed);
        var snapshot = store.ReadSnapshot();

        Assert.False(snapshot.Groups is List<ApplicationGroup>);
        Assert.False(snapshot.Credentials["web"] is List<GroupCredential>);
    }
}
