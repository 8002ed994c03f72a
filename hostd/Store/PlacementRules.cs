using System.Diagnostics.CodeAnalysis;
using System.Net;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.Model.Validation;
using OverlayKvm.Core.Store;

namespace OverlayKvm.HostDaemon.Store;

/// <summary>
/// What the domain and host writes decide, for both stores: when a write changes nothing, which address source a
/// domain keeps, and how a taken address or UUID is refused. Pure: each store reads its own rows and writes its own
/// way; the rules (and so the answers the store contract tests check) are one.
/// </summary>
internal static class PlacementRules
{
    /// <summary>An upsert with the values the domain already has commits nothing (the hook reports it at every start).</summary>
    public static bool IsUnchanged([NotNullWhen(true)] DomainRecord? existing, Guid? uuid, string host, IPAddress? address) =>
        existing is not null && existing.Uuid == uuid && existing.Host == host && Equals(existing.Address, address);

    /// <summary>The same address keeps its source; another one is the operator's (see IOverlayStore.UpsertDomain).</summary>
    public static DomainAddressSource SourceAfterUpsert(DomainRecord? existing, IPAddress? address) =>
        existing is not null && Equals(existing.Address, address) ? existing.AddressSource : DomainAddressSource.Operator;

    /// <summary>
    /// A SetDomainAddress that leaves the domain as it is: libvirt never overrides the operator's address, and the
    /// same address from the same source commits nothing.
    /// </summary>
    public static bool KeepsAddress(DomainRecord existing, IPAddress address, DomainAddressSource source) =>
        (source == DomainAddressSource.Libvirt && existing.Address is not null && existing.AddressSource == DomainAddressSource.Operator)
        || (Equals(existing.Address, address) && existing.AddressSource == source);

    /// <summary>Validates a host write's arguments; returns the address as stored.</summary>
    public static IPAddress CheckHost(string name, IPAddress address, int capacity)
    {
        NameRules.Check("host", name);
        ArgumentNullException.ThrowIfNull(address);
        if (capacity < 0)
        {
            throw new ModelValidationException($"host {name}: capacity", $"{capacity} is negative");
        }

        return AddressMath.Canonical(address);
    }

    /// <summary>The refusal when another domain or host already has <paramref name="address"/>.</summary>
    public static ModelValidationException AddressTaken(string entity, IPAddress address, string holder) =>
        new($"{entity}: address", $"{address} is already the address of {holder}") { IsConflict = true };

    /// <summary>The refusal when another domain already has <paramref name="uuid"/>.</summary>
    public static ModelValidationException UuidTaken(string domain, Guid uuid, string other) =>
        new($"domain {domain}: uuid", $"{uuid} is already the UUID of domain {other}") { IsConflict = true };
}
