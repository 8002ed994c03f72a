namespace OverlayKvm.GuestAgent.Engine;

/// <summary>
/// A cached query answer for one destination address: accessible through the ring <c>(AskerSlot → PeerSlot)</c>, or
/// not. Valid only while the region's directory version still equals <see cref="DirectoryVersion"/> and the region
/// is still at <see cref="Generation"/>; any registration change or engine switch moves the version (FIG. 9).
/// <see cref="SuperPackets"/>: the peer's agent takes GSO super-packets off the ring (it said so when it registered;
/// an older agent did not, and gets plain packets only).
/// </summary>
internal sealed record EngineRoute(bool Accessible, int PeerSlot, int AskerSlot, ulong Generation, ulong DirectoryVersion, bool SuperPackets = false);
