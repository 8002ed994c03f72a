using System.Net;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.Model.Validation;
using OverlayKvm.Core.Store;

namespace OverlayKvm.HostDaemon.Store;

/// <summary>
/// Where a domain's address came from (issue 11): one row in <c>meta</c> per domain whose address libvirt gave
/// (<c>domain-address-libvirt/NAME</c> → the version that learned it), like the run state, so no schema change.
/// No row: the operator's address (or none).
/// </summary>
public sealed partial class SqliteOverlayStore
{
    private const string LearnedAddressPrefix = "domain-address-libvirt/";

    /// <inheritdoc/>
    public DomainRecord SetDomainAddress(string name, IPAddress address, DomainAddressSource source)
    {
        NameRules.Check("domain", name);
        ArgumentNullException.ThrowIfNull(address);
        var canonical = AddressMath.Canonical(address);
        return Write(scope =>
        {
            var existing = FindDomain(scope, name) ?? throw new EntityNotFoundException("domain", name);
            if (PlacementRules.KeepsAddress(existing, canonical, source))
            {
                return existing;
            }

            if (AddressOwners.Find(scope, canonical, exceptDomain: name) is { } holder)
            {
                throw PlacementRules.AddressTaken($"domain {name}", canonical, holder);
            }

            scope.Execute("UPDATE domains SET address = $a, version = $v WHERE name = $n",
                ("$a", SqliteRows.ToDb(canonical)), ("$v", scope.Version), ("$n", name));
            if (source == DomainAddressSource.Libvirt)
            {
                scope.Execute("INSERT INTO meta (key, value) VALUES ($k, $v) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    ("$k", LearnedAddressPrefix + name), ("$v", scope.Version));
            }
            else
            {
                ForgetLearnedAddress(scope, name);
            }

            scope.MarkChanged();
            return existing with { Address = canonical, Version = scope.Version, AddressSource = source };
        });
    }

    private static void ForgetLearnedAddress(WriteScope scope, string name) =>
        scope.Execute("DELETE FROM meta WHERE key = $k", ("$k", LearnedAddressPrefix + name));
}
