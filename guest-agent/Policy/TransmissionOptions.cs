namespace OverlayKvm.GuestAgent.Policy;

/// <summary>What a packet does while its flow is being negotiated (seed 004 R4.10).</summary>
internal enum PendingMode
{
    /// <summary>Held (bounded) and sent on Allowed, dropped on Not Allowed or timeout: the first datagram is not lost.</summary>
    Queue = 0,
    /// <summary>Dropped at once; TCP's retransmission carries the flow once the answer is in.</summary>
    Discard = 1,
}

/// <summary>Settings of the agent's transmission manager (flags of `overlay-agent serve`).</summary>
internal sealed class TransmissionOptions
{
    /// <summary>How long a deny rule (refusal or timeout) stands before the flow is negotiated again (R4.9, R4.13).</summary>
    public TimeSpan DenyTtl { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long an allow rule stands; policy changes invalidate earlier (R4.15), this bounds staleness anyway.</summary>
    public TimeSpan AllowTtl { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>No answer within this time counts as Not Allowed (R4.9: the peer is offline or unreachable).</summary>
    public TimeSpan NegotiationTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Is Allowed is sent again at this interval until answered or timed out (UDP may lose it).</summary>
    public TimeSpan RetryInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    public PendingMode PendingMode { get; set; } = PendingMode.Queue;

    /// <summary>Packets held per flow while negotiating; more are dropped and counted.</summary>
    public int QueuePerFlow { get; set; } = 32;

    /// <summary>Flows negotiating at once; more are refused (counted) so a scan cannot exhaust memory.</summary>
    public int MaxPendingFlows { get; set; } = 1024;

    /// <summary>Rules per direction; beyond it decisions are made uncached (authority) or refused (negotiation).</summary>
    public int MaxRules { get; set; } = 65536;

    /// <summary>
    /// Rules (and open connections) one peer VM may hold per direction; a peer at its share displaces its own least
    /// recently used ones, never another peer's (issue 14 item 8: a port scan cannot break everyone's replies).
    /// </summary>
    public int MaxRulesPerPeer { get; set; } = 8192;

    /// <summary>R4.12: replies of an allowed flow pass without their own negotiation (TCP needs it); false = negotiate each direction.</summary>
    public bool StatefulReplies { get; set; } = true;

    /// <summary>Minimum time between two "not permitted" notices for one rule (a flood does not become a notice flood).</summary>
    public TimeSpan NoticeInterval { get; set; } = TimeSpan.FromSeconds(1);

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (DenyTtl <= TimeSpan.Zero)
        {
            errors.Add($"--deny-ttl: {DenyTtl} must be positive");
        }
        if (AllowTtl <= TimeSpan.Zero)
        {
            errors.Add($"--allow-ttl: {AllowTtl} must be positive");
        }
        if (NegotiationTimeout <= TimeSpan.Zero || NegotiationTimeout > TimeSpan.FromMinutes(1))
        {
            errors.Add($"--negotiation-timeout: {NegotiationTimeout} outside (0, 1 min]");
        }
        if (MaxRulesPerPeer <= 0 || MaxRulesPerPeer > MaxRules)
        {
            errors.Add($"--max-rules-per-peer: {MaxRulesPerPeer} outside 1..{MaxRules} (the table's size)");
        }
        if (QueuePerFlow is < 0 or > 4096)
        {
            errors.Add($"--queue-per-flow: {QueuePerFlow} outside 0..4096");
        }
        return errors;
    }
}
