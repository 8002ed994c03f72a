namespace OverlayKvm.Core.Api;

// A guest agent's counters as overlayd serves them (GET /v1/domains/{name}/stat, `overlayctl domain-stat`) and as the
// agent sends them on its host channel (CounterReport). Same names and numbers as `overlay-agent stat --json` in the
// VM (R0.10). The host reads them from an untrusted guest: AgentCountersRules bounds and checks every field.

/// <param name="PacketsIn">Packets received on this path and delivered to the group's adapter.</param>
public sealed record AgentPathCounters(long PacketsIn, long BytesIn, long PacketsOut, long BytesOut);

/// <param name="Local">Between apps of the same VM.</param>
/// <param name="Engine">Other VMs of this host, through the acceleration engine's rings.</param>
/// <param name="Sealed">Sealed over the network.</param>
/// <param name="SendEpoch">Key epoch the agent seals with; null when it holds no send key.</param>
public sealed record AgentGroupCounters(string Group, AgentPathCounters Local, AgentPathCounters Engine, AgentPathCounters Sealed, long? SendEpoch)
{
    /// <summary>Encapsulated in clear on a trusted segment (seed 002 R14); zeros from agents that predate it.</summary>
    public AgentPathCounters Clear { get => _clear; init => _clear = value ?? new(0, 0, 0, 0); }

    private readonly AgentPathCounters _clear = new(0, 0, 0, 0);
}

/// <param name="Counters">Transmission manager counters by name (allowed, denied, negotiations, …).</param>
public sealed record AgentTransmissionCounters(IReadOnlyDictionary<string, long> Counters, int EgressRules, int IngressRules, int Pending, int Policies);

/// <param name="Fallbacks">Why packets took the sealed path instead of the engine, by reason.</param>
public sealed record AgentEngineCounters(IReadOnlyDictionary<string, long> Fallbacks, long RingDrops);

/// <param name="Count">Holders (app processes, units) counted on the adapter.</param>
public sealed record AgentAdapterCounters(string Device, string Group, int Count, IReadOnlyList<string> Apps);

/// <summary>Bytes exchanged with one other VM (issue 15, automatic co-location).</summary>
/// <param name="Domain">The other VM, as the agent's document names it.</param>
/// <param name="Engine">Through the acceleration engine's rings (same host).</param>
/// <param name="Sealed">Over the network (sealed, authenticated or clear frames): what co-location would move to the engine.</param>
public sealed record AgentPeerCounters(string Domain, AgentPathCounters Engine, AgentPathCounters Sealed);

/// <param name="Domain">The domain whose channel answered (set by overlayd from the channel, never from the guest's claim).</param>
/// <param name="Drops">Packets dropped, by reason.</param>
public sealed record AgentCounters(
    string? Domain,
    long? ConfigVersion,
    IReadOnlyList<AgentGroupCounters> Groups,
    IReadOnlyDictionary<string, long> Drops,
    AgentTransmissionCounters? Transmission,
    AgentEngineCounters? Engine,
    IReadOnlyList<AgentAdapterCounters> Adapters)
{
    /// <summary>Per other VM; empty from agents that predate it.</summary>
    public IReadOnlyList<AgentPeerCounters> Peers { get => _peers; init => _peers = value ?? []; }

    private readonly IReadOnlyList<AgentPeerCounters> _peers = [];
}
