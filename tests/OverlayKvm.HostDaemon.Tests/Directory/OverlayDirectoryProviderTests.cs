using System.Net;
using OverlayKvm.Core.DirectoryService;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.Policy;
using OverlayKvm.HostDaemon.DirectoryService;
using OverlayKvm.HostDaemon.Tests.Store;

namespace OverlayKvm.HostDaemon.Tests.DirectoryService;

/// <summary>The daemon's directory follows the store: rebuilt when the version moves, shared while it does not.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class OverlayDirectoryProviderTests : IDisposable
{
    private readonly TempStore _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Current_FollowsStoreVersion_PolicyChangeChangesVerdict()
    {
        using var store = _temp.Open();
        store.DefineGroup("G2", IPNetwork.Parse("10.2.0.0/16"), ProtectionLevel.Sealed);
        store.DefineGroup("G3", IPNetwork.Parse("10.3.0.0/16"), ProtectionLevel.Sealed);
        store.UpsertDomain("vm2", null, "host-a", IPAddress.Parse("192.168.1.2"));
        store.UpsertDomain("vm3", null, "host-b", IPAddress.Parse("192.168.1.3"));
        store.DefineApplication("G2", "b", null, "vm2", []);
        store.DefineApplication("G3", "d", null, "vm3", []);
        var provider = new OverlayDirectoryProvider(store, PolicyDefaults.Standard, [], TransformationTable.Standard);

        var first = provider.Current();
        Assert.Same(first, provider.Current());
        Assert.True(first.TryFind("G2", "b", out var b));
        Assert.True(first.TryFind("G3", "d", out var d));
        Assert.False(first.Lookup(b, d, IpProtocolNumbers.Tcp, 80).Decision.IsAllowed);

        var policy = store.AddPolicy(new PolicyDefinition("G3", [PolicySender.OfGroup("G2")], PolicyProtocol.Tcp, new PortRange(80, 80), PolicyVerdict.Allow));
        var second = provider.Current();
        Assert.NotSame(first, second);
        Assert.Equal(store.CurrentVersion(), second.Version);
        var lookup = second.Lookup(b, d, IpProtocolNumbers.Tcp, 80);
        Assert.Equal((true, policy.Id), (lookup.Decision.IsAllowed, lookup.Decision.PolicyId));
        Assert.Equal(["192.168.1.2", "192.168.1.3"], lookup.ForwardingPath);
    }
}
