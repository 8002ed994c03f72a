using System.Net;
using OverlayKvm.Core.Credentials;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.Policy;
using OverlayKvm.Core.Store;

namespace OverlayKvm.TestSupport;

/// <summary>
/// The one in-memory <see cref="IOverlayStore"/> of the tests (handlers, engine, placement; the SQLite and etcd
/// stores have their own contract suites). It keeps the version and uniqueness rules the handlers rely on, and
/// rotates credentials with the product's own <see cref="CredentialRotation"/> on the given clock.
/// </summary>
public sealed class InMemoryOverlayStore(TimeProvider? time = null) : IOverlayStore
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Dictionary<string, List<GroupCredential>> _credentials = new(StringComparer.Ordinal);
    private readonly HashSet<string> _engineDisabled = new(StringComparer.Ordinal);
    private readonly HashSet<string> _pinned = new(StringComparer.Ordinal);
    private readonly SortedDictionary<long, AccessPolicy> _policies = [];
    private readonly Dictionary<string, GroupParent> _parents = new(StringComparer.Ordinal);
    private long _nextPolicyId = 1;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, ApplicationGroup> _groups = new(StringComparer.Ordinal);
    private readonly Dictionary<(string, string), Application> _apps = new();
    private readonly Dictionary<string, DomainRecord> _domains = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HostRecord> _hosts = new(StringComparer.Ordinal);
    private long _version;

    public event Action<long>? Changed;

    public long CurrentVersion()
    {
        lock (_gate)
        {
            return _version;
        }
    }

    public ApplicationGroup DefineGroup(string name, IPNetwork addressSpace, ProtectionLevel protection, GroupCipher cipher = GroupCipher.ChaCha20Poly1305) =>
        Write(v => _groups[name] = new ApplicationGroup(name, addressSpace, protection, v) { Number = _groups.Count + 1, Cipher = cipher });

    public ApplicationGroup SetGroupProtection(string name, ProtectionLevel protection) => Write(v =>
    {
        var group = _groups.GetValueOrDefault(name) ?? throw new EntityNotFoundException("group", name);
        return group.Protection == protection ? group : _groups[name] = group with { Protection = protection, Version = v };
    });

    public IReadOnlyList<ApplicationGroup> ListGroups() => Read(() => _groups.Values.ToList());

    public ApplicationGroup? GetGroup(string name) => Read(() => _groups.GetValueOrDefault(name));

    public void UndefineGroup(string name) => Write(_ =>
    {
        if (_apps.Keys.Any(k => k.Item1 == name))
        {
            throw new ModelValidationException($"group {name}", "still has applications");
        }
        return _groups.Remove(name) ? name : throw new EntityNotFoundException("group", name);
    });

    public Application DefineApplication(string group, string name, IPAddress? address, string domain, IReadOnlyList<DataObject> manifest) =>
        Write(v =>
        {
            var g = _groups.GetValueOrDefault(group) ?? throw new EntityNotFoundException("group", group);
            var ip = address ?? IPAddress.Parse($"10.{_apps.Count / 250}.{_apps.Count % 250}.{10 + _apps.Count % 200}");
            return _apps[(group, name)] = new Application(g.Name, name, ip, domain, manifest, v);
        });

    public IReadOnlyList<Application> ListApplications(string? group = null) =>
        Read(() => _apps.Values.Where(a => group is null || a.Group == group).OrderBy(a => a.Group).ThenBy(a => a.Name).ToList());

    public Application? GetApplication(string group, string name) => Read(() => _apps.GetValueOrDefault((group, name)));

    public void UndefineApplication(string group, string name) =>
        Write(_ => _apps.Remove((group, name)) ? name : throw new EntityNotFoundException("application", $"{group}/{name}"));

    public DomainRecord UpsertDomain(string name, Guid? uuid, string host, IPAddress? address) =>
        Write(v => _domains[name] = new DomainRecord(name, uuid, host, address, v, _domains.GetValueOrDefault(name)?.Stopped ?? false));

    public DomainRecord SetDomainStopped(string name, bool stopped) =>
        Write(v => _domains[name] = (_domains.GetValueOrDefault(name) ?? throw new EntityNotFoundException("domain", name)) with { Version = v, Stopped = stopped });

    public DomainRecord SetDomainAddress(string name, IPAddress address, DomainAddressSource source) => Write(v =>
    {
        var domain = _domains.GetValueOrDefault(name) ?? throw new EntityNotFoundException("domain", name);
        // A libvirt-learned address never replaces an operator's (the real stores' rule).
        bool operatorsAddress = domain.Address is not null && domain.AddressSource == DomainAddressSource.Operator;
        return source == DomainAddressSource.Libvirt && operatorsAddress
            ? domain
            : _domains[name] = domain with { Address = address, AddressSource = source, Version = v };
    });

    public IReadOnlyCollection<string> ListEngineDisabledGroups() => Read(() => _engineDisabled.Order(StringComparer.Ordinal).ToList());

    public void SetEngineDisabled(string group, bool disabled) => Write(_ =>
    {
        if (!_groups.ContainsKey(group))
        {
            throw new EntityNotFoundException("group", group);
        }
        return disabled ? _engineDisabled.Add(group) : _engineDisabled.Remove(group);
    });

    public IReadOnlyCollection<string> ListPinnedDomains() => Read(() => _pinned.Order(StringComparer.Ordinal).ToList());

    public void SetDomainPinned(string domain, bool pinned) => Write(_ =>
    {
        if (!_domains.ContainsKey(domain))
        {
            throw new EntityNotFoundException("domain", domain);
        }
        return pinned ? _pinned.Add(domain) : _pinned.Remove(domain);
    });

    public AccessPolicy AddPolicy(PolicyDefinition definition) => Write(v =>
    {
        if (!_groups.ContainsKey(definition.DestinationGroup))
        {
            throw new EntityNotFoundException("group", definition.DestinationGroup);
        }
        var policy = new AccessPolicy(_nextPolicyId++, definition, v);
        _policies[policy.Id] = policy;
        return policy;
    });

    public IReadOnlyList<AccessPolicy> ListPolicies(string? destinationGroup = null) =>
        Read(() => _policies.Values.Where(p => destinationGroup is null || p.DestinationGroup == destinationGroup).ToList());

    public AccessPolicy? GetPolicy(long id) => Read(() => _policies.GetValueOrDefault(id));

    public void RemovePolicy(long id) =>
        Write(_ => _policies.Remove(id) ? id : throw new EntityNotFoundException("policy", id.ToString(System.Globalization.CultureInfo.InvariantCulture)));

    public GroupParent? SetGroupParent(string group, string? parent) => Write(v =>
    {
        foreach (string name in parent is null ? [group] : new[] { group, parent })
        {
            if (!_groups.ContainsKey(name))
            {
                throw new EntityNotFoundException("group", name);
            }
        }
        if (parent is null)
        {
            _parents.Remove(group);
            return null;
        }
        return _parents[group] = new GroupParent(group, parent, v);
    });

    public IReadOnlyList<GroupParent> ListGroupParents() => Read(() => _parents.Values.OrderBy(p => p.Group, StringComparer.Ordinal).ToList());

    public IReadOnlyList<DomainRecord> ListDomains() => Read(() => _domains.Values.OrderBy(d => d.Name).ToList());

    public DomainRecord? GetDomain(string name) => Read(() => _domains.GetValueOrDefault(name));

    public HostRecord UpsertHost(string name, IPAddress address, int capacity) =>
        Write(v => _hosts[name] = new HostRecord(name, address, capacity, v));

    public IReadOnlyList<HostRecord> ListHosts() => Read(() => _hosts.Values.OrderBy(h => h.Name).ToList());

    public IReadOnlyList<GroupCredential> GetCredentials(string group) =>
        Read(() => _credentials.TryGetValue(group, out var list) ? list.Where(c => c.RetiresAt is null || c.RetiresAt > _time.GetUtcNow()).ToList() : []);

    public GroupCredential RotateCredentials(string group, TimeSpan grace) => Write(_ =>
    {
        if (!_groups.ContainsKey(group))
        {
            throw new EntityNotFoundException("group", group);
        }
        List<GroupCredential> list = _credentials.TryGetValue(group, out var existing) ? existing : _credentials[group] = [];
        var plan = CredentialRotation.Rotate(group, list, _time.GetUtcNow(), grace);
        foreach (var retirement in plan.Retirements)
        {
            int i = list.FindIndex(c => c.Epoch == retirement.Epoch);
            list[i] = list[i] with { RetiresAt = retirement.RetiresAt };
        }
        list.Add(plan.NewCredential);
        return plan.NewCredential;
    });

    public void Dispose()
    {
    }

    private T Read<T>(Func<T> read)
    {
        lock (_gate)
        {
            return read();
        }
    }

    private T Write<T>(Func<long, T> write)
    {
        T result;
        long version;
        lock (_gate)
        {
            version = _version + 1;
            result = write(version);
            _version = version;
        }
        Changed?.Invoke(version);
        return result;
    }
}
