using OverlayKvm.Core.Model;
using OverlayKvm.Core.Policy;

namespace OverlayKvm.Core.Store;

/// <summary>
/// The single source of truth of a deployment (R0.1). Every successful change bumps the store-wide version
/// and stamps the changed records with it. Implementations validate (see <see cref="ModelValidationException"/>)
/// inside the same transaction as the write, so two writers can never together break an invariant.
/// </summary>
public interface IOverlayStore : IDisposable
{
    /// <summary>Store-wide version: rises by one with every committed change.</summary>
    long CurrentVersion();

    /// <summary>Raised after every committed change with the new store version (pushes, caches). Handlers must not block.</summary>
    event Action<long>? Changed;

    /// <summary>
    /// Defines a group with its first key epoch. <paramref name="cipher"/> is fixed for the group's life (issue 16): changing
    /// it under running members would drop their traffic, so there is no setter; undefine and define the group again.
    /// Refused when the cipher is unknown or this host's CPU cannot run it well (<see cref="Model.Validation.CipherRules"/>).
    /// </summary>
    ApplicationGroup DefineGroup(string name, System.Net.IPNetwork addressSpace, ProtectionLevel protection, GroupCipher cipher = GroupCipher.ChaCha20Poly1305);

    /// <summary>Changes how the group's traffic is protected (R0.4): only overlay configuration changes. Same level = no change.</summary>
    ApplicationGroup SetGroupProtection(string name, ProtectionLevel protection);

    IReadOnlyList<ApplicationGroup> ListGroups();
    ApplicationGroup? GetGroup(string name);

    /// <summary>Refuses while the group still has applications (<see cref="ModelValidationException"/>).</summary>
    void UndefineGroup(string name);

    /// <summary>
    /// Defines an app; a null <paramref name="address"/> allocates the lowest free one of the group's space.
    /// Unknown group → <see cref="EntityNotFoundException"/>; an app of that name already in the group is refused.
    /// </summary>
    Application DefineApplication(string group, string name, System.Net.IPAddress? address, string domain, IReadOnlyList<DataObject> manifest);

    /// <summary>Sorted by group, then name. An unknown <paramref name="group"/> → <see cref="EntityNotFoundException"/>.</summary>
    IReadOnlyList<Application> ListApplications(string? group = null);
    Application? GetApplication(string group, string name);
    void UndefineApplication(string group, string name);

    /// <summary>The app that holds <paramref name="address"/> (any spelling: IPv4-mapped IPv6 counts as IPv4), or null.</summary>
    /// <remarks>The default scans <see cref="ListApplications"/>; stores override it with an indexed lookup.</remarks>
    Application? FindApplicationByAddress(System.Net.IPAddress address)
    {
        var wanted = Model.Validation.AddressMath.Canonical(address);
        foreach (var app in ListApplications())
        {
            if (Model.Validation.AddressMath.Canonical(app.Address).Equals(wanted))
            {
                return app;
            }
        }

        return null;
    }

    /// <summary>The apps that run in <paramref name="domain"/>, sorted by group then name (empty for an unknown domain).</summary>
    /// <remarks>The default filters <see cref="ListApplications"/>; stores override it with an indexed lookup.</remarks>
    IReadOnlyList<Application> ListApplicationsInDomain(string domain)
    {
        var result = new List<Application>();
        foreach (var app in ListApplications())
        {
            if (string.Equals(app.Domain, domain, StringComparison.Ordinal))
            {
                result.Add(app);
            }
        }

        result.Sort(static (a, b) => string.CompareOrdinal(a.Group, b.Group) is var byGroup and not 0 ? byGroup : string.CompareOrdinal(a.Name, b.Name));
        return result;
    }

    /// <remarks>
    /// An <paramref name="address"/> equal to the stored one keeps its <see cref="DomainRecord.AddressSource"/>
    /// (the hook and the run-state recorder pass the stored address back); a different one is the operator's.
    /// </remarks>
    DomainRecord UpsertDomain(string name, Guid? uuid, string host, System.Net.IPAddress? address);

    /// <summary>
    /// Records a domain's address and who gave it (issue 11). <see cref="DomainAddressSource.Libvirt"/> writes only when
    /// the domain has no address or a libvirt-learned one, so an operator's address is never replaced (the record is
    /// returned unchanged); <see cref="DomainAddressSource.Operator"/> always writes and pins the address. Inside one
    /// transaction, so an operator's <c>domain-define</c> racing a lease refresh wins. Unchanged values commit nothing.
    /// Unknown domain → <see cref="EntityNotFoundException"/>; an address another domain or host holds → conflict.
    /// </summary>
    DomainRecord SetDomainAddress(string name, System.Net.IPAddress address, DomainAddressSource source);

    /// <summary>
    /// Records what the domain's host saw in libvirt: stopped (its apps become unreachable for peers) or running
    /// again. A change raises the domain's version, so peers' documents rise too; an unchanged state commits nothing.
    /// Unknown domain → <see cref="EntityNotFoundException"/>.
    /// </summary>
    DomainRecord SetDomainStopped(string name, bool stopped);

    /// <summary>
    /// Groups whose acceleration engine an operator switched off (<c>engine-disable</c>). The engine registry takes
    /// this at start, never the guest-writable region, so the decision survives reboots and guests.
    /// </summary>
    IReadOnlyCollection<string> ListEngineDisabledGroups();

    /// <summary>Records <c>engine-disable</c>/<c>engine-enable</c>; an unknown group → <see cref="EntityNotFoundException"/>.</summary>
    void SetEngineDisabled(string group, bool disabled);
    /// <summary>
    /// Domains an operator pinned (<c>domain-pin</c>): <c>rebalance</c> never proposes to move them (issue 15). Sorted.
    /// </summary>
    IReadOnlyCollection<string> ListPinnedDomains();

    /// <summary>
    /// Records <c>domain-pin</c>/<c>domain-unpin</c>; an unknown domain → <see cref="EntityNotFoundException"/>.
    /// An unchanged pin commits nothing.
    /// </summary>
    void SetDomainPinned(string domain, bool pinned);

    IReadOnlyList<DomainRecord> ListDomains();
    DomainRecord? GetDomain(string name);

    HostRecord UpsertHost(string name, System.Net.IPAddress address, int capacity);
    IReadOnlyList<HostRecord> ListHosts();

    /// <summary>All key epochs of a group, oldest first, retired ones excluded.</summary>
    IReadOnlyList<GroupCredential> GetCredentials(string group);

    /// <summary>Adds a new epoch and schedules the previous ones to retire after <paramref name="grace"/>.</summary>
    GroupCredential RotateCredentials(string group, TimeSpan grace);

    /// <summary>The whole state at one version (configuration documents, pushes).</summary>
    /// <remarks>
    /// The default composes the list methods and is only consistent when nothing writes meanwhile (enough for
    /// in-memory test doubles); stores that can read atomically override it (SQLite: one read transaction).
    /// </remarks>
    StoreSnapshot ReadSnapshot()
    {
        var version = CurrentVersion();
        var groups = ListGroups();
        var credentials = new Dictionary<string, IReadOnlyList<GroupCredential>>(StringComparer.Ordinal);
        foreach (var group in groups)
        {
            credentials[group.Name] = GetCredentials(group.Name);
        }

        return new StoreSnapshot(version, groups, ListApplications(), ListDomains(), ListHosts(), credentials)
        {
            Policies = ListPolicies(),
            GroupParents = ListGroupParents(),
        };
    }

    // Policies and nesting (seed 004 R4.2-R4.3).

    /// <summary>
    /// Stores a policy after checking it (<see cref="PolicyRules.CheckDefinition"/>), that every group it names
    /// exists (<see cref="EntityNotFoundException"/>) and that no identical policy exists (conflict). Ids are never reused.
    /// </summary>
    AccessPolicy AddPolicy(PolicyDefinition definition);

    /// <summary>Policies by id; with <paramref name="destinationGroup"/>, only those attached directly to that group (unknown → <see cref="EntityNotFoundException"/>).</summary>
    IReadOnlyList<AccessPolicy> ListPolicies(string? destinationGroup = null);

    AccessPolicy? GetPolicy(long id);

    /// <summary>Removes a policy; an unknown id → <see cref="EntityNotFoundException"/>.</summary>
    void RemovePolicy(long id);

    /// <summary>
    /// Nests <paramref name="group"/> under <paramref name="parent"/> (null: un-nests). Refuses unknown groups,
    /// cycles and chains deeper than <see cref="PolicyRules.MaxNestingDepth"/>. Returns the row, or null when un-nested.
    /// </summary>
    GroupParent? SetGroupParent(string group, string? parent);

    IReadOnlyList<GroupParent> ListGroupParents();
}
