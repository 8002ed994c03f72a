using OverlayKvm.Core.Policy;

namespace OverlayKvm.Core.DirectoryService;

/// <summary>
/// The answer to lookup(src, dst, proto, port) (seed 002 R4 plus a verdict, R19): the path class, the
/// forwarding path (the VMs' addresses, in order), the sender's ordered actions, and the policy decision
/// with the policy (or default) that took it. A denied flow's actions are just <see cref="TransformAction.Drop"/>.
/// </summary>
/// <param name="ForwardingPath">Underlay hops: source VM address, destination VM address ("?" while unknown); empty for same-VM paths.</param>
/// <param name="DirectoryVersion">Store version the directory was built from (agents cache entries with it).</param>
public sealed record RouteLookup(
    DirectoryEntry Source,
    DirectoryEntry Destination,
    byte Protocol,
    ushort Port,
    PathClass Path,
    IReadOnlyList<string> ForwardingPath,
    IReadOnlyList<TransformAction> Actions,
    PolicyDecision Decision,
    long DirectoryVersion);
