using OverlayKvm.Core.Store;

namespace OverlayKvm.HostDaemon.Tests.Store.Contract;

/// <summary>
/// Issue 15: an operator's pin (<c>domain-pin</c>) is kept in the store — on SQLite and on etcd alike, seen by every
/// daemon on the state, one version per real change — so rebalance on any host leaves the domain where it is.
/// </summary>
public abstract class StoreDomainPinContract(IStoreHarness harness) : StoreContract(harness)
{
    [Fact]
    public void DomainPin_IsStored_SeenByAnotherInstance_OneVersionPerChange()
    {
        using var store = Harness.Open();
        store.UpsertDomain("vm1", null, "host-a", null);
        store.UpsertDomain("vm2", null, "host-b", null);
        Assert.Empty(store.ListPinnedDomains());

        store.SetDomainPinned("vm2", true);
        Assert.Equal(3, store.CurrentVersion());
        store.SetDomainPinned("vm2", true); // unchanged: nothing committed
        Assert.Equal(3, store.CurrentVersion());
        store.SetDomainPinned("vm1", true);
        Assert.Equal(["vm1", "vm2"], store.ListPinnedDomains());

        using var other = Harness.Open();
        Harness.WaitForVersion(other, 4);
        Assert.Equal(["vm1", "vm2"], other.ListPinnedDomains());

        other.SetDomainPinned("vm1", false);
        Harness.WaitForVersion(store, 5);
        Assert.Equal(["vm2"], store.ListPinnedDomains());
        store.SetDomainPinned("vm1", false); // unpinning an unpinned domain: nothing committed
        Assert.Equal(5, store.CurrentVersion());
    }

    [Fact]
    public void DomainPin_OfUnknownDomain_IsNotFound_AndChangesNothing()
    {
        using var store = Harness.Open();
        var e = Assert.Throws<EntityNotFoundException>(() => store.SetDomainPinned("ghost", true));
        Assert.Contains("ghost", e.Message);
        Assert.Equal(0, store.CurrentVersion());
        Assert.Empty(store.ListPinnedDomains());
    }
}
