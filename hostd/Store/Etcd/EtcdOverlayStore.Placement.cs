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
            if (existing is not null && existing.Uuid == uuid && existing.Host == host && Equals(existing.Address, canonical))
            {
                return existing;
            }

            if (existing is null)
            {
                SenderIndexRule.Check(model, name);
            }

            if (canonical is not null && EtcdAddressOwners.Find(model, canonical, exceptDomain: name) is { } holder)
            {
                throw new ModelValidationException($"domain {name}: address", $"{canonical} is already the address of {holder}") { IsConflict = true };
            }

            if (uuid is not null)
            {
                foreach (var other in model.Domains.Values)
                {
                    if (other.Uuid == uuid && !string.Equals(other.Name, name, StringComparison.Ordinal))
                    {
                        throw new ModelValidationException($"domain {name}: uuid", $"{uuid} is already the UUID of domain {other.Name}") { IsConflict = true };
                    }
                }
            }

            // The same address keeps its source; another one is the operator's (see IOverlayStore.UpsertDomain).
            var source = existing is not null && Equals(existing.Address, canonical) ? existing.AddressSource : DomainAddressSource.Operator;
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
            if (source == DomainAddressSource.Libvirt && existing.Address is not null && existing.AddressSource == DomainAddressSource.Operator)
            {
                return existing; // the operator's address wins, always
            }

            if (Equals(existing.Address, canonical) && existing.AddressSource == source)
            {
                return existing;
            }

            if (EtcdAddressOwners.Find(scope.Model, canonical, exceptDomain: name) is { } holder)
            {
                throw new ModelValidationException($"domain {name}: address", $"{canonical} is already the address of {holder}") { IsConflict = true };
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
        NameRules.Check("host", name);
        ArgumentNullException.ThrowIfNull(address);
        if (capacity < 0)
        {
            throw new ModelValidationException($"host {name}: capacity", $"{capacity} is negative");
        }

        var canonical = AddressMath.Canonical(address);
        return Write(scope =>
        {
            if (scope.Model.Hosts.TryGetValue(name, out var existing) && existing.Address.Equals(canonical) && existing.Capacity == capacity)
            {
                return existing;
            }

            if (EtcdAddressOwners.Find(scope.Model, canonical, exceptHost: name) is { } holder)
            {
                throw new ModelValidationException($"host {name}: address", $"{canonical} is already the address of {holder}") { IsConflict = true };
            }

            var record = new HostRecord(name, canonical, capacity, scope.Version);
            scope.Put(record);
            return record;
        });
    }

    /// <inheritdoc/>
    public IReadOnlyList<HostRecord> ListHosts() => [.. Model.Hosts.Values];
}
