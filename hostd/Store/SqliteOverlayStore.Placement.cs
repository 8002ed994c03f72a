using System.Net;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.Model.Validation;
using OverlayKvm.Core.Store;

namespace OverlayKvm.HostDaemon.Store;

public sealed partial class SqliteOverlayStore
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
            var existing = FindDomain(scope, name);
            if (PlacementRules.IsUnchanged(existing, uuid, host, canonical))
            {
                return existing;
            }

            if (existing is null)
            {
                SenderIndexRule.Check(scope, name);
            }

            if (canonical is not null && AddressOwners.Find(scope, canonical, exceptDomain: name) is { } holder)
            {
                throw PlacementRules.AddressTaken($"domain {name}", canonical, holder);
            }

            if (uuid is not null
                && scope.Scalar("SELECT name FROM domains WHERE uuid = $u AND name <> $n", ("$u", uuid.Value.ToString()), ("$n", name)) is string other)
            {
                throw PlacementRules.UuidTaken(name, uuid.Value, other);
            }

            scope.Execute(
                """
                INSERT INTO domains (name, uuid, host, address, version) VALUES ($n, $u, $h, $a, $v)
                ON CONFLICT (name) DO UPDATE SET uuid = excluded.uuid, host = excluded.host, address = excluded.address, version = excluded.version
                """,
                ("$n", name), ("$u", uuid?.ToString()), ("$h", host), ("$a", SqliteRows.ToDb(canonical)), ("$v", scope.Version));
            var source = PlacementRules.SourceAfterUpsert(existing, canonical);
            if (source == DomainAddressSource.Operator)
            {
                ForgetLearnedAddress(scope, name);
            }
            scope.MarkChanged();
            return new DomainRecord(name, uuid, host, canonical, scope.Version, existing?.Stopped ?? false, source);
        });
    }

    /// <inheritdoc/>
    public IReadOnlyList<DomainRecord> ListDomains() =>
        ReadList($"SELECT {SqliteRows.DomainColumns} FROM domains ORDER BY name", SqliteRows.ReadDomain);

    /// <inheritdoc/>
    public DomainRecord? GetDomain(string name) =>
        ReadOne($"SELECT {SqliteRows.DomainColumns} FROM domains WHERE name = $n", SqliteRows.ReadDomain, ("$n", name));

    /// <inheritdoc/>
    /// <remarks>Unchanged values commit nothing.</remarks>
    public HostRecord UpsertHost(string name, IPAddress address, int capacity)
    {
        var canonical = PlacementRules.CheckHost(name, address, capacity);
        return Write(scope =>
        {
            using (var command = scope.Command($"SELECT {SqliteRows.HostColumns} FROM hosts WHERE name = $n", ("$n", name)))
            using (var reader = command.ExecuteReader())
            {
                if (reader.Read() && SqliteRows.ReadHost(reader) is var existing
                    && existing.Address.Equals(canonical) && existing.Capacity == capacity)
                {
                    return existing;
                }
            }

            if (AddressOwners.Find(scope, canonical, exceptHost: name) is { } holder)
            {
                throw PlacementRules.AddressTaken($"host {name}", canonical, holder);
            }

            scope.Execute(
                """
                INSERT INTO hosts (name, address, capacity, version) VALUES ($n, $a, $c, $v)
                ON CONFLICT (name) DO UPDATE SET address = excluded.address, capacity = excluded.capacity, version = excluded.version
                """,
                ("$n", name), ("$a", canonical.ToString()), ("$c", capacity), ("$v", scope.Version));
            scope.MarkChanged();
            return new HostRecord(name, canonical, capacity, scope.Version);
        });
    }

    /// <inheritdoc/>
    public IReadOnlyList<HostRecord> ListHosts() =>
        ReadList($"SELECT {SqliteRows.HostColumns} FROM hosts ORDER BY name", SqliteRows.ReadHost);

    private static DomainRecord? FindDomain(WriteScope scope, string name)
    {
        using var command = scope.Command($"SELECT {SqliteRows.DomainColumns} FROM domains WHERE name = $n", ("$n", name));
        using var reader = command.ExecuteReader();
        return reader.Read() ? SqliteRows.ReadDomain(reader) : null;
    }
}
