namespace OverlayKvm.HostDaemon.Engine;

public enum RegisterStatus
{
    Registered = 0,
    /// <summary>The address was already registered by this VM: the answer repeats its slot (idempotent).</summary>
    AlreadyRegistered,
    /// <summary>No application of the store has this address.</summary>
    UnknownAddress,
    /// <summary>The address belongs to an application of another VM: a VM registers only its own apps.</summary>
    NotOwnedByDomain,
    /// <summary>Every slot of the group's region is taken by other VMs.</summary>
    NoFreeSlot,
    /// <summary>The VM already registered the maximum number of addresses in this group.</summary>
    TooManyAddresses,
}

/// <summary>Answer to the register hypercall. <see cref="Slot"/> is the VM's slot in the group's region.</summary>
public sealed record RegisterResult(RegisterStatus Status, string? Group, int Slot, string? RegionName, ulong Generation, string? Error)
{
    public bool Succeeded => Status is RegisterStatus.Registered or RegisterStatus.AlreadyRegistered;

    internal static RegisterResult Refused(RegisterStatus status, string error) => new(status, null, -1, null, 0, error);
}

public enum DeregisterStatus
{
    Deregistered = 0,
    NotRegistered,
}

/// <summary>
/// Answer to the query hypercall. Accessible: write to the ring <c>(<see cref="AskerSlot"/> → <see cref="Slot"/>)</c>
/// of region <see cref="RegionName"/> at <see cref="Generation"/>; cache it until <see cref="DirectoryVersion"/> moves.
/// </summary>
/// <see cref="SuperPackets"/>: the destination's agent takes GSO super-packets off the ring (it said so at registration).
public sealed record QueryResult(QueryOutcome Outcome, string? Group, int Slot, int AskerSlot, string? RegionName, ulong Generation, ulong DirectoryVersion,
    bool SuperPackets = false)
{
    public bool Accessible => Outcome == QueryOutcome.Accessible;

    internal static QueryResult Denied(QueryOutcome outcome, string? group = null, ulong version = 0) =>
        new(outcome, group, -1, -1, null, 0, version);
}

public enum HeartbeatStatus
{
    Accepted = 0,
    /// <summary>The VM holds no slot: it must register again (e.g. after expiry or a daemon restart).</summary>
    UnknownDomain,
}

public enum EngineSwitchStatus
{
    Changed = 0,
    Unchanged,
    UnknownGroup,
}

/// <summary>A region a domain may attach (libvirt device injection): only groups it has applications in.</summary>
public sealed record EngineRegionGrant(string Group, string RegionName, string Path, long SizeBytes);
