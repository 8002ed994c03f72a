using System.Net;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.Store;

namespace OverlayKvm.HostDaemon.Tests.Store.Contract;

/// <summary>Issue 16: a group's cipher is stored with the group, on SQLite and on etcd alike, and seen by every daemon.</summary>
public abstract class StoreCipherContract(IStoreHarness harness) : StoreContract(harness)
{
    [Fact]
    public void Cipher_IsStored_DefaultChaCha_SeenByAnotherInstance()
    {
        Assert.True(GroupCiphers.HostSupports(GroupCipher.Aegis256), "prerequisite missing: this CPU has no AES-NI, which AEGIS-256 groups need");
        using var store = Harness.Open();
        var fast = store.DefineGroup("fast", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed, GroupCipher.Aegis256);
        var plain = store.DefineGroup("plain", IPNetwork.Parse("10.2.0.0/16"), ProtectionLevel.Authenticated);
        Assert.Equal(GroupCipher.Aegis256, fast.Cipher);
        Assert.Equal(GroupCipher.ChaCha20Poly1305, plain.Cipher);

        using var other = Harness.Open();
        Harness.WaitForVersion(other, 2);
        Assert.Equal(GroupCipher.Aegis256, other.GetGroup("fast")!.Cipher);
        Assert.Equal(GroupCipher.ChaCha20Poly1305, other.GetGroup("plain")!.Cipher);
        var listed = other.ListGroups();
        Assert.Equal([GroupCipher.Aegis256, GroupCipher.ChaCha20Poly1305], listed.OrderBy(g => g.Name).Select(g => g.Cipher));

        // Changing the protection level keeps the cipher.
        store.SetGroupProtection("fast", ProtectionLevel.Authenticated);
        Harness.WaitForVersion(other, 3);
        Assert.Equal(GroupCipher.Aegis256, other.GetGroup("fast")!.Cipher);
    }

    [Fact]
    public void Cipher_Unknown_RefusedNamingTheField_NothingStored()
    {
        using var store = Harness.Open();
        var e = Assert.Throws<ModelValidationException>(() => store.DefineGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed, (GroupCipher)9));
        Assert.Equal("group web: cipher", e.Field);
        Assert.Null(store.GetGroup("web"));
        Assert.Equal(0, store.CurrentVersion());
    }
}
