using System.Net;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.Store;

namespace OverlayKvm.HostDaemon.Tests.Store.Contract;

public abstract class StoreCredentialContract(IStoreHarness harness) : StoreContract(harness)
{
    [Fact]
    public void DefineGroup_CreatesEpochOne_32ByteKey()
    {
        using var store = Harness.Open();
        store.DefineGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed);
        store.DefineGroup("db", IPNetwork.Parse("10.2.0.0/16"), ProtectionLevel.Sealed);

        var web = Assert.Single(store.GetCredentials("web"));
        var db = Assert.Single(store.GetCredentials("db"));

        Assert.Equal(1, web.Epoch);
        Assert.Equal(32, web.Key.Length);
        Assert.Null(web.RetiresAt);
        Assert.Equal(Harness.Time.GetUtcNow(), web.CreatedAt);
        Assert.NotEqual(web.Key, db.Key);
        Assert.Contains(web.Key, b => b != 0);
    }

    [Fact]
    public void Rotate_KeepsPreviousEpochUntilGraceEnds_ThenDropsIt()
    {
        using var store = Harness.Open();
        store.DefineGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed);
        var first = Assert.Single(store.GetCredentials("web"));
        var groupVersion = store.GetGroup("web")!.Version;

        Harness.Time.Advance(TimeSpan.FromHours(1));
        var second = store.RotateCredentials("web", TimeSpan.FromMinutes(10));

        Assert.Equal(2, second.Epoch);
        Assert.NotEqual(first.Key, second.Key);
        Assert.True(store.GetGroup("web")!.Version > groupVersion, "rotation must bump the group's version");
        var live = store.GetCredentials("web");
        Assert.Equal([1, 2], live.Select(c => c.Epoch));
        Assert.Equal(Harness.Time.GetUtcNow() + TimeSpan.FromMinutes(10), live[0].RetiresAt);
        Assert.Equal(first.Key, live[0].Key);
        Assert.Null(live[1].RetiresAt);

        Harness.Time.Advance(TimeSpan.FromMinutes(9));
        Assert.Equal([1, 2], store.GetCredentials("web").Select(c => c.Epoch));

        Harness.Time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal([2], store.GetCredentials("web").Select(c => c.Epoch));
    }

    [Fact]
    public void Rotate_Twice_OlderRetirementNotExtended_DeadKeysPurged()
    {
        using var store = Harness.Open();
        store.DefineGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed);
        store.RotateCredentials("web", TimeSpan.FromMinutes(1));
        var firstRetires = store.GetCredentials("web")[0].RetiresAt;

        store.RotateCredentials("web", TimeSpan.FromMinutes(30));
        var live = store.GetCredentials("web");
        Assert.Equal([1, 2, 3], live.Select(c => c.Epoch));
        Assert.Equal(firstRetires, live[0].RetiresAt);

        Harness.Time.Advance(TimeSpan.FromMinutes(31));
        store.RotateCredentials("web", TimeSpan.Zero);
        Assert.Equal([4], store.GetCredentials("web").Select(c => c.Epoch));
        Assert.Equal(1, Harness.CountStoredCredentials());
    }

    [Fact]
    public void Rotate_UnknownGroup_EntityNotFound()
    {
        using var store = Harness.Open();

        Assert.Throws<EntityNotFoundException>(() => store.RotateCredentials("ghost", TimeSpan.FromMinutes(1)));
        Assert.Throws<EntityNotFoundException>(() => store.GetCredentials("ghost"));
        Assert.Equal(0, store.CurrentVersion());
    }

    [Fact]
    public void Rotate_NegativeGrace_Refused()
    {
        using var store = Harness.Open();
        store.DefineGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed);

        var error = Assert.Throws<ModelValidationException>(() => store.RotateCredentials("web", TimeSpan.FromSeconds(-1)));

        Assert.Equal("group web: grace period", error.Field);
        Assert.Equal(1, store.CurrentVersion());
    }
}
