using System.Net;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.Store;

namespace OverlayKvm.HostDaemon.Tests.Store;

/// <summary>
/// Issue 14 item 9: two domain names with one 32-bit sender index would seal with the same keys and nonces, and
/// every peer would refuse the whole document. The store refuses the second name when it is written.
/// "hh-vm8703" and "hh-vm19935" collide: SHA-256("overlaykvm sender index v1\0" + name) starts 6f90955c for both.
/// </summary>
public sealed class SenderIndexCollisionTests : IDisposable
{
    private readonly TempStore _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void DefineApplication_DomainWhoseSenderIndexCollides_IsRefusedNamingBoth()
    {
        var store = _temp.Open();
        store.DefineGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed);
        store.DefineApplication("web", "a", IPAddress.Parse("10.1.0.1"), "hh-vm8703", []);

        var e = Assert.Throws<ModelValidationException>(() => store.DefineApplication("web", "b", IPAddress.Parse("10.1.0.2"), "hh-vm19935", []));

        Assert.Contains("hh-vm19935", e.Message);
        Assert.Contains("hh-vm8703", e.Message);
        Assert.Single(store.ListApplications("web"));
    }

    [Fact]
    public void UpsertDomain_NewDomainWhoseSenderIndexCollides_IsRefused_ExistingOneMayBeUpdated()
    {
        var store = _temp.Open();
        store.UpsertDomain("hh-vm8703", null, "host-a", IPAddress.Parse("192.0.2.10"));

        Assert.Throws<ModelValidationException>(() => store.UpsertDomain("hh-vm19935", null, "host-a", IPAddress.Parse("192.0.2.11")));
        store.UpsertDomain("hh-vm8703", null, "host-a", IPAddress.Parse("192.0.2.12"));
        Assert.Equal(IPAddress.Parse("192.0.2.12"), store.GetDomain("hh-vm8703")!.Address);
    }
}
