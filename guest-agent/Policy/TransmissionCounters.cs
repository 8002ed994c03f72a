namespace OverlayKvm.GuestAgent.Policy;

/// <summary>
/// The transmission manager's counters (seed 004's observable behaviour: R4.6 `negotiations_sent` etc.). Packets it
/// refuses are counted once, with the datapath's drops (`denied-egress`, `denied-ingress`, `pending`).
/// </summary>
internal sealed class TransmissionCounters
{
    public long NegotiationsSent;
    public long NegotiationsReceived;
    public long AllowedReceived;
    public long NotAllowedReceived;
    public long Timeouts;
    public long LocalDecisions;
    public long NoticesSent;
    public long NoticesReceived;
    public long Queued;
    public long QueueDrops;
    public long Released;
    public long RulesInvalidated;
    public long RulesExpired;
    public long BadControl;
    /// <summary>Sum over answered negotiations of the time from the first Is Allowed to the answer (µs).</summary>
    public long NegotiationMicros;

    public IReadOnlyDictionary<string, long> ToDictionary() => new SortedDictionary<string, long>(StringComparer.Ordinal)
    {
        ["negotiations_sent"] = Volatile.Read(ref NegotiationsSent),
        ["negotiations_received"] = Volatile.Read(ref NegotiationsReceived),
        ["allowed_received"] = Volatile.Read(ref AllowedReceived),
        ["not_allowed_received"] = Volatile.Read(ref NotAllowedReceived),
        ["negotiation_timeouts"] = Volatile.Read(ref Timeouts),
        ["local_decisions"] = Volatile.Read(ref LocalDecisions),
        ["not_permitted_sent"] = Volatile.Read(ref NoticesSent),
        ["not_permitted_received"] = Volatile.Read(ref NoticesReceived),
        ["queued"] = Volatile.Read(ref Queued),
        ["queue_drops"] = Volatile.Read(ref QueueDrops),
        ["released"] = Volatile.Read(ref Released),
        ["rules_invalidated"] = Volatile.Read(ref RulesInvalidated),
        ["rules_expired"] = Volatile.Read(ref RulesExpired),
        ["bad_control"] = Volatile.Read(ref BadControl),
        ["negotiation_us_total"] = Volatile.Read(ref NegotiationMicros),
    };
}
