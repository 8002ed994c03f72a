using System.Net;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.Store;

namespace OverlayKvm.HostDaemon.Tests.Store.Contract;

/// <summary>
/// Issue 14 item 9: engine-disable is an operator decision kept in the store — on SQLite and on etcd alike, seen by
/// every daemon on the state, one version per real change, gone with its group.
/// </summary>
public abstract class StoreEngineSwitchContract(IStoreHarness harness) : StoreContract(harness)
{
    [Fact]
    public void EngineDisabled_IsStored_SeenByAnotherInstance_OneVersionPerChange_GoneWithTheGroup()
    {
        using var store = Harness.Open();
        store.DefineGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed);
        store.DefineGroup("api", IPNetwork.Parse("10.2.0.0/16"), ProtectionLevel.Sealed);
        Assert.Empty(store.ListEngineDisabledGroups());

        store.SetEngineDisabled("web", true);
        Assert.Equal(3, store.CurrentVersion());
        store.SetEngineDisabled("web", true); // unchanged: nothing committed
        Assert.Equal(3, store.CurrentVersion());
        Assert.Equal(["web"], store.ListEngineDisabledGroups());

        using var other = Harness.Open();
        Harness.WaitForVersion(other, 3);
        Assert.Equal(["web"], other.ListEngineDisabledGroups());

        other.SetEngineDisabled("web", false);
        Harness.WaitForVersion(store, 4);
        Assert.Empty(store.ListEngineDisabledGroups());

        store.SetEngineDisabled("api", true);
        store.UndefineGroup("api");
        Harness.WaitForVersion(other, 6);
        Assert.Empty(other.ListEngineDisabledGroups());
        store.DefineGroup("api", IPNetwork.Parse("10.2.0.0/16"), ProtectionLevel.Sealed);
        Assert.Empty(store.ListEngineDisabledGroups()); // a group defined again starts with its engine on
    }

    [Fact]
    public void EngineSwitch_OfUnknownGroup_IsNotFound_AndChangesNothing()
    {
        using var store = Harness.Open();
        var e = Assert.Throws<EntityNotFoundException>(() => store.SetEngineDisabled("ghost", true));
        Assert.Contains("ghost", e.Message);
        Assert.Equal(0, store.CurrentVersion());
    }
}
