namespace OverlayKvm.GuestAgent.Control;

/// <summary>A request on the agent's local control socket (one JSON object per line).</summary>
/// <param name="Op">"register", "unregister", "stat", "rules" or "wait-app".</param>
/// <param name="TimeoutMs">wait-app: how long to wait for the app to be counted in.</param>
internal sealed record ControlRequest(string Op, string? App = null, string? Group = null, int? Pid = null, int? TimeoutMs = null);

internal sealed record ControlResponse(
    bool Ok,
    string? Error = null,
    int? AppCount = null,
    int? AdapterCount = null,
    string? Device = null,
    StatReport? Stat = null,
    IReadOnlyList<RuleView>? Rules = null);

internal sealed record PathStat(long PacketsIn, long BytesIn, long PacketsOut, long BytesOut);

/// <param name="Engine">Other VMs of this host through the acceleration engine's rings (in clear, no network).</param>
internal sealed record GroupStat(string Group, PathStat Local, PathStat Sealed, long? SendEpoch, PathStat Engine)
{
    /// <summary>Encapsulated in clear on a trusted segment.</summary>
    public PathStat Clear { get; init; } = new(0, 0, 0, 0);
}

internal sealed record AdapterStat(string Device, string Group, int Count, IReadOnlyList<string> Apps);

internal sealed record StatReport(
    string? Domain,
    long? ConfigVersion,
    IReadOnlyList<GroupStat> Groups,
    IReadOnlyDictionary<string, long> Drops,
    IReadOnlyList<AdapterStat> Adapters,
    EngineStat? Engine = null,
    TransmissionStat? Transmission = null,
    string? ConfigDigest = null)
{
    /// <summary>Bytes exchanged with each other VM the document names, by path (issue 15: what overlayd plans co-location from).</summary>
    public IReadOnlyList<PeerStat> Peers { get; init; } = [];
}

/// <param name="Sealed">Over the network (sealed, authenticated or clear frames).</param>
internal sealed record PeerStat(string Domain, PathStat Engine, PathStat Sealed);

/// <summary>The transmission manager (seed 004): counters, rule counts per direction, flows being negotiated, policies held.</summary>
internal sealed record TransmissionStat(IReadOnlyDictionary<string, long> Counters, int EgressRules, int IngressRules, int Pending, int Policies);

/// <summary>One transmission rule as `overlay-agent rules` shows it.</summary>
/// <param name="Direction">"egress" (this VM's app sends) or "ingress" (this VM's app receives).</param>
internal sealed record RuleView(string Direction, string Source, string Destination, string Protocol, int Port, string Verdict, string Origin,
    long ExpiresInMs, long PolicyId, string Reason);

/// <summary>The agent's view of the acceleration engine: attached groups and why packets took the sealed path instead.</summary>
internal sealed record EngineStat(IReadOnlyList<EngineGroupAttachment> Attached, IReadOnlyDictionary<string, long> Fallbacks, long RingDrops);

/// <param name="Doorbell">How this VM's receive thread slept on the group's ring doorbell (docs/engine-region.md).</param>
internal sealed record EngineGroupAttachment(string Group, string Region, int Slot, ulong Generation, bool Enabled, int CachedRoutes, DoorbellStat? Doorbell = null);

/// <param name="FutexUsable">False where the kernel refuses a futex on the mapping (a guest's BAR): bounded timed sleeps instead.</param>
/// <param name="WakesSent">Wakes this VM's senders issued to sleeping receivers.</param>
internal sealed record DoorbellStat(bool FutexUsable, long Waits, long Woken, long TimedOut, long Changed, long WakesSent);
