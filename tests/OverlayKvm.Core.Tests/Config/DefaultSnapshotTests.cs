using System.Net;
using OverlayKvm.Core.Config;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.Store;

namespace OverlayKvm.Core.Tests.Config;

/// <summary>The interface's defaults let a minimal store (test doubles) feed the document builder and lookups.</summary>
public sealed class DefaultSnapshotTests
{
    [Fact]
    public void DefaultReadSnapshot_ComposesListMethods_BuilderWorks()
    {
        IOverlayStore store = new ListOnlyStore();

        var snapshot = store.ReadSnapshot();
        var document = new DomainConfigBuilder(store).Build("vm1", includeSecrets: true);

        Assert.Equal(9, snapshot.Version);
        Assert.Equal([1], snapshot.Credentials["web"].Select(c => c.Epoch));
        Assert.Equal("a", Assert.Single(document.Apps).Name);
        Assert.Equal(Convert.ToBase64String(new byte[32]), document.Groups[0].Credentials[0].Key);
        Assert.Throws<NotSupportedException>(() => store.SetGroupProtection("web", ProtectionLevel.Authenticated));
        Assert.Equal("a", store.FindApplicationByAddress(IPAddress.Parse("::ffff:10.1.0.1"))!.Name);
        Assert.Null(store.FindApplicationByAddress(IPAddress.Parse("10.1.0.2")));
        Assert.Equal("a", Assert.Single(store.ListApplicationsInDomain("vm1")).Name);
        Assert.Empty(store.ListApplicationsInDomain("vm2"));
    }

    /// <summary>Implements only the members that existed before ReadSnapshot/SetGroupProtection.</summary>
    private sealed class ListOnlyStore : IOverlayStore
    {
        private static readonly ApplicationGroup Web = new("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed, 3) { Number = 1 };

        public event Action<long>? Changed { add { } remove { } }

        public long CurrentVersion() => 9;

        public IReadOnlyList<ApplicationGroup> ListGroups() => [Web];

        public ApplicationGroup? GetGroup(string name) => name == "web" ? Web : null;

        public IReadOnlyList<Application> ListApplications(string? group = null) =>
            [new Application("web", "a", IPAddress.Parse("10.1.0.1"), "vm1", [], 4)];

        public Application? GetApplication(string group, string name) => null;

        public IReadOnlyList<DomainRecord> ListDomains() => [new DomainRecord("vm1", null, "host-a", IPAddress.Parse("192.0.2.1"), 2)];

        public DomainRecord? GetDomain(string name) => null;

        public IReadOnlyList<HostRecord> ListHosts() => [];

        public IReadOnlyList<GroupCredential> GetCredentials(string group) =>
            [new GroupCredential(group, 1, new byte[32], DateTimeOffset.UnixEpoch, null)];

        public ApplicationGroup DefineGroup(string name, IPNetwork addressSpace, ProtectionLevel protection) => throw new NotSupportedException();

        public void UndefineGroup(string name) => throw new NotSupportedException();

        public Application DefineApplication(string group, string name, IPAddress? address, string domain, IReadOnlyList<DataObject> manifest) =>
            throw new NotSupportedException();

        public void UndefineApplication(string group, string name) => throw new NotSupportedException();

        public DomainRecord UpsertDomain(string name, Guid? uuid, string host, IPAddress? address) => throw new NotSupportedException();

        public HostRecord UpsertHost(string name, IPAddress address, int capacity) => throw new NotSupportedException();

        public GroupCredential RotateCredentials(string group, TimeSpan grace) => throw new NotSupportedException();

        public void Dispose()
        {
        }
    }
}
