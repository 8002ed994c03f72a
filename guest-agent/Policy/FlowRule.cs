using OverlayKvm.Core.Policy;

namespace OverlayKvm.GuestAgent.Policy;

/// <summary>How a rule came to be; decides who may re-evaluate it when policies change.</summary>
internal enum RuleOrigin : byte
{
    /// <summary>Decided here from policies this VM is the authority for (destination is in one of its groups).</summary>
    Local = 0,
    /// <summary>Sender side: the destination's agent answered Allowed / Not Allowed (or did not answer: timeout).</summary>
    Negotiated = 1,
    /// <summary>Receiver side: decided here when a peer asked (Is Allowed) or when its first packet arrived.</summary>
    Granted = 2,
}

/// <summary>
/// A transmission rule (seed 004 R4.6, R4.8): allow or deny for one <see cref="FlowKey"/>, until it expires.
/// Immutable except for the last time a "not permitted" notice was sent for it (rate limit).
/// </summary>
internal sealed class FlowRule : PeerEntry
{
    public required PolicyVerdict Verdict { get; init; }

    public required RuleOrigin Origin { get; init; }

    /// <summary>TransmissionManager.NowMs after which the rule no longer counts.</summary>
    public required long ExpiresAtMs { get; init; }

    /// <summary>The policy that decided (0: a default, a timeout, or the remote side's answer).</summary>
    public long PolicyId { get; init; }

    /// <summary>Why: the policy text, the default, "timeout", or "answer from DOMAIN".</summary>
    public required string Reason { get; init; }

    public long LastNoticeMs;

    public bool IsAllowed => Verdict == PolicyVerdict.Allow;
}
