using System.Net;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.Store;
using OverlayKvm.HostDaemon.Store;

namespace OverlayKvm.HostDaemon.Tests.Store.Contract;

/// <summary>Each bad input is refused with a message naming entity and field, and the store is left exactly as it was.</summary>
public abstract class StoreValidationContract : StoreContract
{
    private readonly IOverlayStore _store;

    protected StoreValidationContract(IStoreHarness harness)
        : base(harness)
    {
        _store = Harness.Open();
        _store.DefineGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed);
        _store.DefineApplication("web", "frontend", IPAddress.Parse("10.1.0.5"), "vm1", []);
        _store.UpsertDomain("vm1", null, "host-a", IPAddress.Parse("10.1.0.9"));
        _store.UpsertHost("host-a", IPAddress.Parse("192.0.2.10"), 4);
    }

    [Fact]
    public void DefineApplication_AddressOutsideSpace_RefusedNothingStored()
    {
        var error = AssertRefused<ModelValidationException>(() =>
            _store.DefineApplication("web", "backend", IPAddress.Parse("10.2.0.5"), "vm1", []));

        Assert.Equal("app web/backend: address: 10.2.0.5 is outside group web's space 10.1.0.0/16", error.Message);
        Assert.False(error.IsConflict);
    }

    [Fact]
    public void DefineApplication_DuplicateAddress_RefusedNamingHolder()
    {
        var error = AssertRefused<ModelValidationException>(() =>
            _store.DefineApplication("web", "backend", IPAddress.Parse("10.1.0.5"), "vm2", []));

        Assert.Equal("app web/backend: address: 10.1.0.5 is already the address of app web/frontend", error.Message);
        Assert.True(error.IsConflict);
    }

    [Fact]
    public void DefineApplication_AddressOfVm_Refused()
    {
        var error = AssertRefused<ModelValidationException>(() =>
            _store.DefineApplication("web", "backend", IPAddress.Parse("10.1.0.9"), "vm2", []));

        Assert.Equal("app web/backend: address: 10.1.0.9 is already the address of domain vm1", error.Message);
    }

    [Fact]
    public void DefineApplication_NetworkAddress_Refused()
    {
        var error = AssertRefused<ModelValidationException>(() =>
            _store.DefineApplication("web", "backend", IPAddress.Parse("10.1.0.0"), "vm2", []));

        Assert.Contains("10.1.0.0 is the network address of group web's space 10.1.0.0/16", error.Message);
    }

    [Fact]
    public void DefineApplication_UnknownGroup_EntityNotFound()
    {
        var error = AssertRefused<EntityNotFoundException>(() =>
            _store.DefineApplication("nope", "backend", null, "vm2", []));

        Assert.Equal("group", error.Kind);
        Assert.Equal("group 'nope' not found", error.Message);
    }

    [Theory]
    [InlineData("-lead")]
    [InlineData("a b")]
    [InlineData("../etc")]
    [InlineData("")]
    [InlineData("x\u001b[31m")]
    public void DefineApplication_IllegalName_Refused(string name)
    {
        var error = AssertRefused<ModelValidationException>(() =>
            _store.DefineApplication("web", name, null, "vm2", []));

        Assert.Equal("app name", error.Field);
        Assert.DoesNotContain("\u001b", error.Message);
    }

    [Fact]
    public void DefineApplication_IllegalDomainName_Refused()
    {
        var error = AssertRefused<ModelValidationException>(() =>
            _store.DefineApplication("web", "backend", null, "vm/2", []));

        Assert.Equal("domain name", error.Field);
    }

    [Fact]
    public void DefineApplication_SameNameTwice_Refused()
    {
        var error = AssertRefused<ModelValidationException>(() =>
            _store.DefineApplication("web", "frontend", null, "vm1", []));

        Assert.Equal("app web/frontend: is already defined; undefine it first", error.Message);
    }

    [Fact]
    public void DefineApplication_BadManifestDigest_Refused()
    {
        var error = AssertRefused<ModelValidationException>(() =>
            _store.DefineApplication("web", "backend", null, "vm2", [new DataObject("/a", "file:///a", "XYZ")]));

        Assert.Equal("app web/backend: manifest[0].sha256", error.Field);
    }

    [Theory]
    [InlineData("10.1.128.0/17", "10.1.128.0/17 overlaps group web's space 10.1.0.0/16")]
    [InlineData("10.0.0.0/8", "10.0.0.0/8 overlaps group web's space 10.1.0.0/16")]
    public void DefineGroup_OverlappingSpace_Refused(string space, string expected)
    {
        var error = AssertRefused<ModelValidationException>(() =>
            _store.DefineGroup("db", IPNetwork.Parse(space), ProtectionLevel.Sealed));

        Assert.Equal($"group db: address space: {expected}", error.Message);
        Assert.True(error.IsConflict);
    }

    [Fact]
    public void DefineGroup_DefaultSpace_Refused()
    {
        var error = AssertRefused<ModelValidationException>(() =>
            _store.DefineGroup("db", default, ProtectionLevel.Sealed));

        Assert.Equal("group db: address space: 0.0.0.0/0 covers every address; a group needs a space of its own (e.g. 10.1.0.0/16)", error.Message);
    }

    [Fact]
    public void DefineGroup_SameName_Refused()
    {
        var error = AssertRefused<ModelValidationException>(() =>
            _store.DefineGroup("web", IPNetwork.Parse("10.9.0.0/16"), ProtectionLevel.Sealed));

        Assert.Equal("group web: is already defined", error.Message);
    }

    [Fact]
    public void DefineGroup_SpaceTooSmall_Refused()
    {
        var error = AssertRefused<ModelValidationException>(() =>
            _store.DefineGroup("db", IPNetwork.Parse("10.9.0.0/31"), ProtectionLevel.Sealed));

        Assert.Contains("too small", error.Message);
    }

    [Fact]
    public void UpsertDomain_AddressHeldByApp_Refused()
    {
        var error = AssertRefused<ModelValidationException>(() =>
            _store.UpsertDomain("vm2", null, "host-a", IPAddress.Parse("10.1.0.5")));

        Assert.Equal("domain vm2: address: 10.1.0.5 is already the address of app web/frontend", error.Message);
    }

    [Fact]
    public void UpsertHost_AddressHeldByApp_Refused()
    {
        var error = AssertRefused<ModelValidationException>(() =>
            _store.UpsertHost("host-b", IPAddress.Parse("10.1.0.5"), 4));

        Assert.Equal("host host-b: address: 10.1.0.5 is already the address of app web/frontend", error.Message);
    }

    [Fact]
    public void UndefineGroup_WithApps_Refused()
    {
        var error = AssertRefused<ModelValidationException>(() => _store.UndefineGroup("web"));

        Assert.Equal("group web: still has 1 application(s); undefine them first", error.Message);
    }

    [Fact]
    public void UndefineApplication_Unknown_EntityNotFound()
    {
        var error = AssertRefused<EntityNotFoundException>(() => _store.UndefineApplication("web", "ghost"));

        Assert.Equal("app 'web/ghost' not found", error.Message);
    }

    [Fact]
    public void DefineApplication_AllocatesSkippingVmAndHostAddresses()
    {
        _store.UpsertDomain("vm2", null, "host-a", IPAddress.Parse("10.1.0.1"));
        _store.UpsertHost("host-b", IPAddress.Parse("10.1.0.2"), 4);

        var app = _store.DefineApplication("web", "backend", null, "vm2", []);

        Assert.Equal(IPAddress.Parse("10.1.0.3"), app.Address);
    }

    [Fact]
    public void DefineApplication_SpaceFull_RefusedNamingGroup()
    {
        _store.DefineGroup("tiny", IPNetwork.Parse("10.9.0.0/30"), ProtectionLevel.Sealed);
        _store.DefineApplication("tiny", "a", null, "vm1", []);
        _store.DefineApplication("tiny", "b", null, "vm1", []);

        var error = AssertRefused<ModelValidationException>(() => _store.DefineApplication("tiny", "c", null, "vm1", []));

        Assert.Equal("group tiny: address space: 10.9.0.0/30 has no free address left", error.Message);
    }

    [Fact]
    public void IPv6Group_AllocatesValidatesAndRefusesOverlap()
    {
        _store.DefineGroup("v6", IPNetwork.Parse("fd00:1::/64"), ProtectionLevel.Sealed);

        var allocated = _store.DefineApplication("v6", "a", null, "vm1", []);
        var chosen = _store.DefineApplication("v6", "b", IPAddress.Parse("fd00:1::ffff:ffff:ffff:ffff"), "vm1", []);

        Assert.Equal(IPAddress.Parse("fd00:1::1"), allocated.Address);
        Assert.Equal(IPAddress.Parse("fd00:1::ffff:ffff:ffff:ffff"), chosen.Address);
        Assert.Equal(
            "app v6/c: address: fd00:2::1 is outside group v6's space fd00:1::/64",
            AssertRefused<ModelValidationException>(() => _store.DefineApplication("v6", "c", IPAddress.Parse("fd00:2::1"), "vm1", [])).Message);
        Assert.Equal(
            "app v6/c: address: 10.1.0.7 is outside group v6's space fd00:1::/64",
            AssertRefused<ModelValidationException>(() => _store.DefineApplication("v6", "c", IPAddress.Parse("10.1.0.7"), "vm1", [])).Message);
        Assert.Equal(
            "group v6b: address space: fd00::/16 overlaps group v6's space fd00:1::/64",
            AssertRefused<ModelValidationException>(() => _store.DefineGroup("v6b", IPNetwork.Parse("fd00::/16"), ProtectionLevel.Sealed)).Message);
    }

    [Fact]
    public void DefineApplication_IPv4MappedSpelling_CountsAsSameAddress()
    {
        var error = AssertRefused<ModelValidationException>(() =>
            _store.DefineApplication("web", "backend", IPAddress.Parse("::ffff:10.1.0.5"), "vm2", []));

        Assert.Equal("app web/backend: address: 10.1.0.5 is already the address of app web/frontend", error.Message);
    }

    /// <summary>Runs a refused change and checks that neither the version nor any record moved.</summary>
    // Issue 14 item 9: two domain names with one 32-bit sender index would seal with the same keys and nonces.
    // "hh-vm8703" and "hh-vm19935" collide: SHA-256("overlaykvm sender index v1\0" + name) starts 6f90955c for both.
    [Fact]
    public void DefineApplication_DomainWhoseSenderIndexCollides_IsRefusedNamingBoth()
    {
        _store.DefineApplication("web", "a", IPAddress.Parse("10.1.0.1"), "hh-vm8703", []);

        var error = AssertRefused<ModelValidationException>(() =>
            _store.DefineApplication("web", "b", IPAddress.Parse("10.1.0.2"), "hh-vm19935", []));

        Assert.Contains("hh-vm19935", error.Message);
        Assert.Contains("hh-vm8703", error.Message);
        Assert.True(error.IsConflict);
    }

    [Fact]
    public void UpsertDomain_NewDomainWhoseSenderIndexCollides_IsRefused_ExistingOneMayBeUpdated()
    {
        _store.UpsertDomain("hh-vm8703", null, "host-a", IPAddress.Parse("192.0.2.20"));

        AssertRefused<ModelValidationException>(() => _store.UpsertDomain("hh-vm19935", null, "host-a", IPAddress.Parse("192.0.2.21")));
        _store.UpsertDomain("hh-vm8703", null, "host-a", IPAddress.Parse("192.0.2.22"));

        Assert.Equal(IPAddress.Parse("192.0.2.22"), _store.GetDomain("hh-vm8703")!.Address);
    }

    private TException AssertRefused<TException>(Action change)
        where TException : Exception
    {
        var version = _store.CurrentVersion();
        var groups = _store.ListGroups();
        var apps = _store.ListApplications().Select(a => (a.Group, a.Name, a.Address, a.Domain, a.Version)).ToList();
        var domains = _store.ListDomains();
        var hosts = _store.ListHosts();

        var error = Assert.Throws<TException>(change);

        Assert.Equal(version, _store.CurrentVersion());
        Assert.Equal(groups, _store.ListGroups());
        Assert.Equal(apps, _store.ListApplications().Select(a => (a.Group, a.Name, a.Address, a.Domain, a.Version)).ToList());
        Assert.Equal(domains, _store.ListDomains());
        Assert.Equal(hosts, _store.ListHosts());
        return error;
    }
}
