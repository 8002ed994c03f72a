namespace OverlayKvm.GuestAgent.Control;

/// <summary>A request on the agent's local control socket (one JSON object per line).</summary>
/// <param name="Op">"register", "unregister" or "stat".</param>
internal sealed record ControlRequest(string Op, string? App = null, string? Group = null, int? Pid = null);

internal sealed record ControlResponse(
    bool Ok,
    string? Error = null,
    int? AppCount = null,
    int? AdapterCount = null,
    string? Device = null,
    StatReport? Stat = null);

internal sealed record PathStat(long PacketsIn, long BytesIn, long PacketsOut, long BytesOut);

internal sealed record GroupStat(string Group, PathStat Local, PathStat Sealed, long? SendEpoch);

internal sealed record AdapterStat(string Device, string Group, int Count, IReadOnlyList<string> Apps);

internal sealed record StatReport(
    string? Domain,
    long? ConfigVersion,
    IReadOnlyList<GroupStat> Groups,
    IReadOnlyDictionary<string, long> Drops,
    IReadOnlyList<AdapterStat> Adapters);
