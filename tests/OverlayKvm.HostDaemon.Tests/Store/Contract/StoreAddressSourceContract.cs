using System.Net;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.Store;

namespace OverlayKvm.HostDaemon.Tests.Store.Contract;

/// <summary>
/// Issue 11: a domain's address learned from libvirt follows the lease; an operator's address is never replaced by
/// one libvirt reports. The same rules on SQLite and etcd (and across instances: two daemons on one state).
/// </summary>
public abstract class StoreAddressSourceContract(IStoreHarness harness) : StoreContract(harness)
{
    [Fact]
    public void LearnedAddress_IsStoredAsLibvirt_FollowsTheLease_AndSurvivesHookUpserts()
    {
        using var store = Harness.Open();
        store.UpsertDomain("vm1", null, "host-a", null);

        var learned = store.SetDomainAddress("vm1", IPAddress.Parse("192.0.2.10"), DomainAddressSource.Libvirt);
        Assert.Equal((IPAddress.Parse("192.0.2.10"), DomainAddressSource.Libvirt, 2L), (learned.Address, learned.AddressSource, learned.Version));

        var same = store.SetDomainAddress("vm1", IPAddress.Parse("192.0.2.10"), DomainAddressSource.Libvirt);
        Assert.Equal(2, same.Version);
        Assert.Equal(2, store.CurrentVersion());

        // The hook and the run-state recorder pass the stored address back: its source stays libvirt.
        store.UpsertDomain("vm1", Guid.NewGuid(), "host-a", learned.Address);
        Assert.Equal(DomainAddressSource.Libvirt, store.GetDomain("vm1")!.AddressSource);

        var moved = store.SetDomainAddress("vm1", IPAddress.Parse("192.0.2.11"), DomainAddressSource.Libvirt);
        Assert.Equal(4, moved.Version);

        using var other = Harness.Open();
        Harness.WaitForVersion(other, 4);
        var seen = other.GetDomain("vm1")!;
        Assert.Equal((IPAddress.Parse("192.0.2.11"), DomainAddressSource.Libvirt), (seen.Address, seen.AddressSource));
        Assert.Equal(DomainAddressSource.Libvirt, Assert.Single(other.ReadSnapshot().Domains).AddressSource);
    }

    [Fact]
    public void OperatorAddress_IsNeverReplacedByLibvirt()
    {
        using var store = Harness.Open();
        store.UpsertDomain("vm1", null, "host-a", IPAddress.Parse("192.0.2.20"));

        var kept = store.SetDomainAddress("vm1", IPAddress.Parse("192.0.2.99"), DomainAddressSource.Libvirt);

        Assert.Equal((IPAddress.Parse("192.0.2.20"), DomainAddressSource.Operator, 1L), (kept.Address, kept.AddressSource, kept.Version));
        Assert.Equal(1, store.CurrentVersion());
    }

    [Fact]
    public void OperatorPinsALearnedAddress_ThenLibvirtCannotMoveIt()
    {
        using var store = Harness.Open();
        store.UpsertDomain("vm1", null, "host-a", null);
        store.SetDomainAddress("vm1", IPAddress.Parse("192.0.2.30"), DomainAddressSource.Libvirt);

        // An operator giving another address through domain-define (UpsertDomain) makes it theirs.
        var changed = store.UpsertDomain("vm1", null, "host-a", IPAddress.Parse("192.0.2.31"));
        Assert.Equal(DomainAddressSource.Operator, changed.AddressSource);

        store.UpsertDomain("vm2", null, "host-a", null);
        store.SetDomainAddress("vm2", IPAddress.Parse("192.0.2.40"), DomainAddressSource.Libvirt);
        var pinned = store.SetDomainAddress("vm2", IPAddress.Parse("192.0.2.40"), DomainAddressSource.Operator);
        Assert.Equal(DomainAddressSource.Operator, pinned.AddressSource);

        var refused = store.SetDomainAddress("vm2", IPAddress.Parse("192.0.2.41"), DomainAddressSource.Libvirt);
        Assert.Equal((IPAddress.Parse("192.0.2.40"), DomainAddressSource.Operator), (refused.Address, refused.AddressSource));
        Assert.Equal(IPAddress.Parse("192.0.2.31"), store.SetDomainAddress("vm1", IPAddress.Parse("192.0.2.32"), DomainAddressSource.Libvirt).Address);
    }

    [Fact]
    public void LearnedAddress_HeldByAnotherDomain_IsAConflict_UnknownDomainIsNotFound()
    {
        using var store = Harness.Open();
        store.UpsertDomain("vm1", null, "host-a", IPAddress.Parse("192.0.2.50"));
        store.UpsertDomain("vm2", null, "host-a", null);

        var conflict = Assert.Throws<ModelValidationException>(() => store.SetDomainAddress("vm2", IPAddress.Parse("192.0.2.50"), DomainAddressSource.Libvirt));
        Assert.True(conflict.IsConflict);
        Assert.Contains("vm1", conflict.Message, StringComparison.Ordinal);
        Assert.Throws<EntityNotFoundException>(() => store.SetDomainAddress("nope", IPAddress.Parse("192.0.2.51"), DomainAddressSource.Libvirt));
        Assert.Null(store.GetDomain("vm2")!.Address);
    }
}
