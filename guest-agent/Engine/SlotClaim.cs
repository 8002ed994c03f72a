namespace OverlayKvm.GuestAgent.Engine;

/// <summary>What the host's answers say about a ring packet's source address and the slot that wrote it.</summary>
internal enum SlotClaim : byte
{
    /// <summary>The host answered that the address is at that slot.</summary>
    Owned = 0,
    /// <summary>The host answered, and the address is elsewhere (or not reachable by the engine): a spoof.</summary>
    NotOwned = 1,
    /// <summary>No current answer for the address yet: a query is due, the packet cannot be trusted meanwhile.</summary>
    Unverified = 2,
}
