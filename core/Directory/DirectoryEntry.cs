using System.Net;

namespace OverlayKvm.Core.DirectoryService;

/// <summary>
/// One mapping of the directory (seed 002 R1): an app's overlay address (with its group and name) → the
/// domain that runs it, the host of that domain, and the domain's own (underlay) address.
/// </summary>
/// <param name="DomainAddress">The VM's address: the outer address of encapsulated frames; null while unknown.</param>
/// <param name="HostAddress">The host's underlay address; null when the host is not in the inventory.</param>
/// <remarks><see cref="Reachable"/> is false while the host's lease has expired (a cluster host that is down).</remarks>
public sealed record DirectoryEntry(
    string Group,
    string App,
    IPAddress Address,
    string Domain,
    string Host,
    IPAddress? DomainAddress,
    IPAddress? HostAddress)
{
    /// <summary>False while the entry's host is not alive: peers do not send to it (their documents leave it out).</summary>
    public bool Reachable { get; init; } = true;
}
