using OverlayKvm.Core.Model;
using OverlayKvm.Core.Policy;

namespace OverlayKvm.Core.Store;

/// <summary>
/// Everything in the store as of one <see cref="Version"/>, read in a single read transaction, so that
/// documents built from it never mix two states. Lists are sorted by name (apps by group, then name).
/// </summary>
/// <param name="Credentials">Live key epochs per group name, oldest first (retired ones excluded).</param>
public sealed record StoreSnapshot(
    long Version,
    IReadOnlyList<ApplicationGroup> Groups,
    IReadOnlyList<Application> Applications,
    IReadOnlyList<DomainRecord> Domains,
    IReadOnlyList<HostRecord> Hosts,
    IReadOnlyDictionary<string, IReadOnlyList<GroupCredential>> Credentials)
{
    /// <summary>Access policies, by id (R4.3). Empty for stores that predate policies.</summary>
    public IReadOnlyList<AccessPolicy> Policies { get; init; } = [];

    /// <summary>Group nesting rows (R4.2), by group name.</summary>
    public IReadOnlyList<GroupParent> GroupParents { get; init; } = [];
}
