namespace OverlayKvm.Core.Api;

/// <summary>What <c>GET /v1/engine/stat</c> (and <c>overlayctl engine-stat</c>) shows.</summary>
public sealed record EngineStat(DateTimeOffset At, EngineCounterStat Counters, IReadOnlyList<EngineGroupStat> Groups);

public sealed record EngineCounterStat(
    long Registrations,
    long RegistrationsRefused,
    long Deregistrations,
    long Heartbeats,
    long Expirations,
    long HeaderRepairs,
    long SlotRepairs,
    long ControlRepairs,
    IReadOnlyDictionary<string, long> Queries);

/// <summary>One group's region on this host. Ring figures are published by the guests themselves: display only.</summary>
public sealed record EngineGroupStat(
    string Group,
    bool Enabled,
    string RegionPath,
    ulong Generation,
    int RingCapacity,
    ulong DirectoryVersion,
    string HeaderStatus,
    IReadOnlyList<EngineSlotStat> Slots,
    IReadOnlyList<EngineRingStat> Rings);

public sealed record EngineSlotStat(int Slot, string Domain, IReadOnlyList<string> Addresses, DateTimeOffset LastHeartbeat, bool Expired);

/// <summary>The engine API's body when switching a group: the group and whether its engine is now on.</summary>
public sealed record EngineSwitchResponse(string Group, bool Enabled, string Status);

public sealed record EngineRingStat(int From, int To, ulong RecordsWritten, ulong BytesWritten, ulong RecordsRead, ulong BytesRead, ulong Pending);
