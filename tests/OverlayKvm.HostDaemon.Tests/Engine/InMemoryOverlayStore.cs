using System.Net;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.Store;

namespace OverlayKvm.HostDaemon.Tests.Engine;

/// <summary>Test double of the store: groups and applications in memory (what the engine reads), versioned.</summary>
internal sealed class InMemoryOverlayStore : IOverlayStore
{
    private readonly List<ApplicationGroup> _groups = [];
    private readonly List<Application> _apps = [];
    private long _version;

    public event Action<long>? Changed;

    public long CurrentVersion() => _version;

    public ApplicationGroup DefineGroup(string name, IPNetwork addressSpace, ProtectionLevel protection)
    {
        var group = new ApplicationGroup(name, addressSpace, protection, Bump());
        _groups.Add(group);
        return group;
    }

    public IReadOnlyList<ApplicationGroup> ListGroups() => _groups.ToArray();

    public ApplicationGroup? GetGroup(string name) => _groups.Find(g => g.Name == name);

    public void UndefineGroup(string name) => _groups.RemoveAll(g => g.Name == name);

    public Application DefineApplication(string group, string name, IPAddress? address, string domain, IReadOnlyList<DataObject> manifest)
    {
        var app = new Application(group, name, address ?? throw new ArgumentNullException(nameof(address)), domain, manifest, Bump());
        _apps.Add(app);
        return app;
    }

    public IReadOnlyList<Application> ListApplications(string? group = null) =>
        _apps.Where(a => group is null || a.Group == group).ToArray();

    public Application? GetApplication(string group, string name) => _apps.Find(a => a.Group == group && a.Name == name);

    public void UndefineApplication(string group, string name) => _apps.RemoveAll(a => a.Group == group && a.Name == name);

    public DomainRecord UpsertDomain(string name, Guid? uuid, string host, IPAddress? address) => throw new NotSupportedException("not used by the engine");

    public IReadOnlyList<DomainRecord> ListDomains() => [];

    public DomainRecord? GetDomain(string name) => null;

    public HostRecord UpsertHost(string name, IPAddress address, int capacity) => throw new NotSupportedException("not used by the engine");

    public IReadOnlyList<HostRecord> ListHosts() => [];

    public IReadOnlyList<GroupCredential> GetCredentials(string group) => [];

    public GroupCredential RotateCredentials(string group, TimeSpan grace) => throw new NotSupportedException("not used by the engine");

    public void Dispose()
    {
    }

    private long Bump()
    {
        _version++;
        Changed?.Invoke(_version);
        return _version;
    }
}

/// <summary>A clock the test moves by hand.</summary>
internal sealed class ManualTimeProvider(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}
