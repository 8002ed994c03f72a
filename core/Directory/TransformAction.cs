namespace OverlayKvm.Core.DirectoryService;

/// <summary>
/// What the sending side does to a packet (seed 002 R23 vocabulary, mapped to OverlayKvm's paths). The
/// receiving side applies the inverse in reverse order (open, decapsulate) before its own policy check.
/// </summary>
public enum TransformAction : byte
{
    /// <summary>Hand the packet to the destination app's adapter in the same VM.</summary>
    Local = 0,
    /// <summary>Write it to the engine's ring for the destination VM (same host, never on a network).</summary>
    Engine = 1,
    /// <summary>Wrap it in an outer header whose addresses are the VMs' own (inner app addresses unchanged).</summary>
    Encapsulate = 2,
    /// <summary>AEAD with the group's current key epoch (confidentiality, integrity, replay protection).</summary>
    Seal = 3,
    /// <summary>Policy denied the flow: dropped at the sender, nothing reaches any network (R4.23).</summary>
    Drop = 4,
}
