using OverlayKvm.Core.Policy;

namespace OverlayKvm.Core.DirectoryService;

/// <summary>
/// The answer to lookup(src, dst, proto, port) (seed 002 R4 plus a verdict, R19): the path class, the
/// forwarding path (the VMs' addresses, in order), the sender's ordered actions, and the policy decision
/// with the policy (or default) that took it. A denied flow's actions are just <see cref="TransformAction.Drop"/>
/// (except within one VM, where nothing of ours is on the path: see <see cref="Enforced"/>).
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
    long DirectoryVersion)
{
    /// <summary>
    /// False within one VM: its own kernel delivers between its apps and the overlay never sees those packets, so
    /// the verdict is what policy says, not what anything enforces; between VMs both agents enforce it.
    /// </summary>
    public bool Enforced => Path != PathClass.SameVm;

    /// <summary>Why the path class was chosen (the classifier's reason), e.g. the trusted segment that holds both VMs.</summary>
    public string PathReason { get; init; } = "";
}
