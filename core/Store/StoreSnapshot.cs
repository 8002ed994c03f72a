using OverlayKvm.Core.Model;

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
    IReadOnlyDictionary<string, IReadOnlyList<GroupCredential>> Credentials);
