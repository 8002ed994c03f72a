using System.Net;
using OverlayKvm.Core.Config;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.Store;
using OverlayKvm.TestSupport;

namespace OverlayKvm.Core.Tests.Config;

/// <summary>The interface's default snapshot composes the list methods: enough for in-memory doubles to feed the document builder and lookups.</summary>
public sealed class DefaultSnapshotTests
{
    [Fact]
    public void DefaultReadSnapshot_ComposesListMethods_BuilderWorks()
    {
        IOverlayStore store = new InMemoryOverlayStore();
        store.DefineGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed);
        store.DefineApplication("web", "a", IPAddress.Parse("10.1.0.1"), "vm1", []);
        GroupCredential key = store.RotateCredentials("web", TimeSpan.Zero);
        store.UpsertDomain("vm1", null, "host-a", IPAddress.Parse("192.0.2.1"));

        var snapshot = store.ReadSnapshot();
        var document = new DomainConfigBuilder(store).Build("vm1", includeSecrets: true);

        Assert.Equal(4, snapshot.Version);
        Assert.Equal([1], snapshot.Credentials["web"].Select(c => c.Epoch));
        Assert.Equal("a", Assert.Single(document.Apps).Name);
        Assert.Equal(key.Key, document.Groups[0].Credentials[0].Key);
        Assert.Equal("a", store.FindApplicationByAddress(IPAddress.Parse("::ffff:10.1.0.1"))!.Name);
        Assert.Null(store.FindApplicationByAddress(IPAddress.Parse("10.1.0.2")));
        Assert.Equal("a", Assert.Single(store.ListApplicationsInDomain("vm1")).Name);
        Assert.Empty(store.ListApplicationsInDomain("vm2"));
    }
}
