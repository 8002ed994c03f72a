namespace OverlayKvm.Core.Api;

/// <summary>One host as placement saw it.</summary>
/// <param name="Used">Overlay domains placed there, not counting the domain being placed.</param>
/// <param name="GroupMembers">Domains there that run a member of one of the domain's groups.</param>
public sealed record PlacementCandidate(string Host, int Capacity, int Used, int GroupMembers)
{
    public bool HasCapacity => Used < Capacity;
}

/// <summary>Where a domain should run and why. <see cref="Host"/> is null when no host has room.</summary>
public sealed record PlacementDecision(
    string Domain,
    string? Host,
    string Reason,
    IReadOnlyList<string> Groups,
    IReadOnlyList<PlacementCandidate> Candidates);
