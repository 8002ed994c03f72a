using System.Net;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.Model.Validation;
using OverlayKvm.Core.Store;

namespace OverlayKvm.HostDaemon.Store.Etcd;

public sealed partial class EtcdOverlayStore
{
    /// <inheritdoc/>
    /// <remarks>Unchanged values commit nothing (the hook may report the same domain at every start).</remarks>
    public DomainRecord UpsertDomain(string name, Guid? uuid, string host, IPAddress? address)
    {
        NameRules.Check("domain", name);
        NameRules.Check("host", host);
        var canonical = address is null ? null : AddressMath.Canonical(address);

        return Write(scope =>
        {
            var model = scope.Model;
            var existing = model.Domains.GetValueOrDefault(name);
            if (PlacementRules.IsUnchanged(existing, uuid, host, canonical))
            {
                return existing;
            }

            if (existing is null)
            {
                SenderIndexRule.Check(model, name);
            }

            if (canonical is not null && EtcdAddressOwners.Find(model, canonical, exceptDomain: name) is { } holder)
            {
                throw PlacementRules.AddressTaken($"domain {name}", canonical, holder);
            }

            if (uuid is not null)
            {
                foreach (var other in model.Domains.Values)
                {
                    if (other.Uuid == uuid && !string.Equals(other.Name, name, StringComparison.Ordinal))
                    {
                        throw PlacementRules.UuidTaken(name, uuid.Value, other.Name);
                    }
                }
            }

            var source = PlacementRules.SourceAfterUpsert(existing, canonical);
            var record = new DomainRecord(name, uuid, host, canonical, scope.Version, existing?.Stopped ?? false, source);
            scope.Put(record);
            return record;
        });
    }

    /// <inheritdoc/>
    public DomainRecord SetDomainAddress(string name, IPAddress address, DomainAddressSource source)
    {
        NameRules.Check("domain", name);
        ArgumentNullException.ThrowIfNull(address);
        var canonical = AddressMath.Canonical(address);
        return Write(scope =>
        {
            var existing = scope.Model.Domains.GetValueOrDefault(name) ?? throw new EntityNotFoundException("domain", name);
            if (PlacementRules.KeepsAddress(existing, canonical, source))
            {
                return existing;
            }

            if (EtcdAddressOwners.Find(scope.Model, canonical, exceptDomain: name) is { } holder)
            {
                throw PlacementRules.AddressTaken($"domain {name}", canonical, holder);
            }

            var record = existing with { Address = canonical, Version = scope.Version, AddressSource = source };
            scope.Put(record);
            return record;
        });
    }

    /// <inheritdoc/>
    public DomainRecord SetDomainStopped(string name, bool stopped)
    {
        NameRules.Check("domain", name);
        return Write(scope =>
        {
            var existing = scope.Model.Domains.GetValueOrDefault(name) ?? throw new EntityNotFoundException("domain", name);
            if (existing.Stopped == stopped)
            {
                return existing;
            }

            // The domain's version rises so that peers' documents (which count it) rise too.
            var record = existing with { Version = scope.Version, Stopped = stopped };
            scope.Put(record);
            return record;
        });
    }

    /// <inheritdoc/>
    public IReadOnlyList<DomainRecord> ListDomains() => [.. Model.Domains.Values];

    /// <inheritdoc/>
    public DomainRecord? GetDomain(string name) => Model.Domains.GetValueOrDefault(name);

    /// <inheritdoc/>
    /// <remarks>Unchanged values commit nothing.</remarks>
    public HostRecord UpsertHost(string name, IPAddress address, int capacity)
    {
        var canonical = PlacementRules.CheckHost(name, address, capacity);
        return Write(scope =>
        {
            if (scope.Model.Hosts.TryGetValue(name, out var existing) && existing.Address.Equals(canonical) && existing.Capacity == capacity)
            {
                return existing;
            }

            if (EtcdAddressOwners.Find(scope.Model, canonical, exceptHost: name) is { } holder)
            {
                throw PlacementRules.AddressTaken($"host {name}", canonical, holder);
            }

            var record = new HostRecord(name, canonical, capacity, scope.Version);
            scope.Put(record);
            return record;
        });
    }

    /// <inheritdoc/>
    public IReadOnlyList<HostRecord> ListHosts() => [.. Model.Hosts.Values];
}
