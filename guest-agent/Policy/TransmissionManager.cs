using System.Collections.Concurrent;
using OverlayKvm.Core.Policy;
using OverlayKvm.Core.Wire;
using OverlayKvm.GuestAgent.Config;
using OverlayKvm.GuestAgent.Pipeline;

namespace OverlayKvm.GuestAgent.Policy;

/// <summary>What the sender-side check says about one packet.</summary>
internal enum Admission : byte
{
    Allow = 0,
    Deny = 1,
    /// <summary>Held in the flow's negotiation queue; sent or dropped when the answer (or the timeout) comes.</summary>
    Queued = 2,
    /// <summary>Waiting for a decision and not held (discard mode, queue full, too many flows pending).</summary>
    PendingDropped = 3,
}

/// <summary>
/// The agent's transmission manager (seed 004 R4.6–R4.16): every packet an app of this VM sends is checked at
/// the sender first (so denied traffic never leaves the VM, R4.23), and every packet it receives is checked
/// again (defence in depth, R4.11).
/// <list type="bullet">
/// <item>A live rule decides (one lookup, no allocation); with stateful replies (R4.12) a packet whose reverse
/// flow is allowed passes as a reply.</item>
/// <item>With no rule, a destination in one of this VM's groups is decided here: this VM holds those groups'
/// policies. Any other destination is negotiated with its agent: Is Allowed → Allowed / Not Allowed, sealed
/// with the keys policy relations give both sides; the answer is recorded at both ends; silence past the
/// timeout counts as deny; data meanwhile is queued (bounded) or dropped by setting.</item>
/// <item>The receiver decides from its own policies when it has no rule, drops what they deny and tells the
/// sender "not permitted" so it invalidates (R4.11, R4.14).</item>
/// <item>A new configuration re-decides only the rules it can (those of its own groups): a rule whose verdict
/// changed is removed at this end and, as receiver, the sender is told; rules of members that left, or whose
/// VM changed, are flushed (R4.15, R4.16). Deny rules expire (R4.13).</item>
/// </list>
/// </summary>
internal sealed partial class TransmissionManager
{
    private readonly AgentState _state;
    private readonly TransmissionOptions _options;
    private readonly DatapathCounters _drops;
    private readonly SharedFrameSender _sender;
    private readonly TimeProvider _time;
    private readonly long _ticksPerMs;
    private readonly ConcurrentDictionary<FlowKey, PendingFlow> _pending = new();
    private readonly long _denyTtlMs;
    private readonly long _allowTtlMs;
    private long _nextRequestId = Random.Shared.NextInt64();

    /// <param name="time">The clock every rule, negotiation and connection is timed by; tests pass a fake one and
    /// advance it instead of sleeping.</param>
    public TransmissionManager(AgentState state, TransmissionOptions options, DatapathCounters drops, SharedFrameSender sender,
        TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        // Timestamps divided, never multiplied: nanosecond timestamps times 1000 would overflow after ~106 days up.
        _ticksPerMs = Math.Max(1, _time.TimestampFrequency / 1000);
        _state = state;
        _options = options;
        _drops = drops;
        _sender = sender;
        _denyTtlMs = (long)options.DenyTtl.TotalMilliseconds;
        _allowTtlMs = (long)options.AllowTtl.TotalMilliseconds;
        Egress = new RuleTable(options.MaxRules, options.MaxRulesPerPeer);
        Ingress = new RuleTable(options.MaxRules, options.MaxRulesPerPeer);
        Connections = new ConnectionTable(options.MaxRules, options.MaxRulesPerPeer);
        _state.Changed += Reconcile;
    }

    public TransmissionCounters Counters { get; } = new();

    /// <summary>Flows this VM's apps send (the sending TM's rule set).</summary>
    public RuleTable Egress { get; }

    /// <summary>Flows this VM's apps receive from other VMs (the receiving TM's rule set).</summary>
    public RuleTable Ingress { get; }

    /// <summary>Connections opened under an allow rule, by full 5-tuple: what a stateful reply must answer.</summary>
    public ConnectionTable Connections { get; }

    public int PendingCount => _pending.Count;

    /// <summary>
    /// Sender-side check of a packet from local app <paramref name="source"/> to <paramref name="to"/>.
    /// Allocation-free when a rule (or the authority's decision) answers; a queued packet is copied.
    /// </summary>
    public Admission CheckEgress(AgentSnapshot snapshot, DirectoryRoute to, uint source, uint destination, ReadOnlySpan<byte> packet)
    {
        Ipv4Packet.ReadFlow(packet, out byte protocol, out ushort sourcePort, out ushort destinationPort);
        var flow = new FlowKey(source, destination, protocol, destinationPort);
        long now = NowMs;
        FlowRule? rule = Cached(Egress, Ingress, flow, sourcePort, now);
        if (rule is null)
        {
            if (!snapshot.Policy.IsAuthorityFor(to.Group.Id))
            {
                // Not ours to decide: a neighbor group's member, always on another VM.
                return Negotiate(snapshot, flow, to, packet, now);
            }
            rule = DecideHere(snapshot, Egress, flow, to.Member.Peer, now, cacheDeny: true);
        }
        if (rule is not { IsAllowed: true })
        {
            return Admission.Deny;
        }
        Opened(flow, sourcePort, rule, now);
        return Admission.Allow;
    }

    /// <summary>
    /// Receiver-side check of a packet from <paramref name="peer"/>'s app <paramref name="source"/> to local app
    /// <paramref name="destination"/> (of one of this VM's groups, so this VM is the authority). False = drop;
    /// the sender has then been told (rate-limited) to invalidate its rule.
    /// </summary>
    public bool CheckIngress(AgentSnapshot snapshot, PeerVm peer, uint source, uint destination, ReadOnlySpan<byte> packet)
    {
        Ipv4Packet.ReadFlow(packet, out byte protocol, out ushort sourcePort, out ushort destinationPort);
        var flow = new FlowKey(source, destination, protocol, destinationPort);
        long now = NowMs;
        // Unsolicited data that policy denies is not cached (issue 14 item 8): a peer spraying ports must not fill
        // the table with its denies; re-deciding costs it, not the others.
        FlowRule? cached = Cached(Ingress, Egress, flow, sourcePort, now);
        FlowRule? rule = cached ?? DecideHere(snapshot, Ingress, flow, peer, now, cacheDeny: false);
        if (rule is { IsAllowed: true })
        {
            Opened(flow, sourcePort, rule, now);
            return true;
        }
        // One notice per interval: per rule when a deny is cached, else per peer.
        ref long lastNotice = ref cached is null ? ref peer.LastNoticeMs : ref cached.LastNoticeMs;
        if (now - Volatile.Read(ref lastNotice) >= (long)_options.NoticeInterval.TotalMilliseconds)
        {
            Volatile.Write(ref lastNotice, now);
            SendNotice(snapshot, peer, flow);
        }
        return false;
    }

    /// <summary>
    /// The answer already known for a flow: its own live rule in <paramref name="own"/>, else — stateful replies
    /// (R4.12) — the allow rule of the flow it answers, in <paramref name="reverse"/>, and only if this packet
    /// answers a connection that rule let through, port for port (issue 14 item 3: after L→P:443, P:443→L:22 is
    /// not a reply). Null: nothing cached.
    /// </summary>
    private FlowRule? Cached(RuleTable own, RuleTable reverse, in FlowKey flow, ushort sourcePort, long now)
    {
        if (own.TryGetLive(flow, now, out FlowRule rule))
        {
            return rule;
        }
        return _options.StatefulReplies && reverse.TryGetLive(flow.Reverse(sourcePort), now, out FlowRule answered) && answered.IsAllowed
            && Connections.IsOpen(ConnectionKey.AnsweredBy(flow, sourcePort), now, _allowTtlMs)
            ? answered
            : null;
    }

    /// <summary>A packet passed under <paramref name="rule"/>: its connection may now be answered.</summary>
    private void Opened(in FlowKey flow, ushort sourcePort, FlowRule rule, long now)
    {
        if (_options.StatefulReplies)
        {
            Connections.Note(ConnectionKey.OpenedBy(flow, sourcePort), rule.PeerIndex, now);
        }
    }

    /// <summary>
    /// Decides from this VM's policies and records the rule (uncached when the table is full, and a deny only
    /// with <paramref name="cacheDeny"/>). Null when either
    /// address is unknown here (nothing to decide on: the caller refuses).
    /// </summary>
    private FlowRule? DecideHere(AgentSnapshot snapshot, RuleTable table, in FlowKey flow, PeerVm? peer, long now, bool cacheDeny)
    {
        if (!snapshot.Policy.TryDecide(flow.Source, flow.Destination, flow.Protocol, flow.Port, out PolicyDecision decision))
        {
            return null;
        }
        Interlocked.Increment(ref Counters.LocalDecisions);
        FlowRule rule = NewRule(decision.Verdict, table == Egress ? RuleOrigin.Local : RuleOrigin.Granted, now, decision.PolicyId, decision.Reason, peer);
        if (rule.IsAllowed || cacheDeny)
        {
            table.TrySet(flow, rule);
        }
        return rule;
    }

    /// <summary>Milliseconds on this manager's clock: the time base of every rule's expiry and last use.</summary>
    public long NowMs => _time.GetTimestamp() / _ticksPerMs;

    private FlowRule NewRule(PolicyVerdict verdict, RuleOrigin origin, long now, long policyId, string reason, PeerVm? peer) => new()
    {
        LastUsedMs = now,
        Verdict = verdict,
        Origin = origin,
        ExpiresAtMs = now + (verdict == PolicyVerdict.Allow ? _allowTtlMs : _denyTtlMs),
        PolicyId = policyId,
        Reason = reason,
        PeerIndex = peer?.SenderIndex ?? 0,
    };

    private Admission Negotiate(AgentSnapshot snapshot, in FlowKey flow, DirectoryRoute to, ReadOnlySpan<byte> packet, long now)
    {
        PeerVm peer = to.Member.Peer!;
        if (!_pending.TryGetValue(flow, out PendingFlow? pending))
        {
            if (_pending.Count >= _options.MaxPendingFlows || Egress.Count >= _options.MaxRules)
            {
                return Admission.PendingDropped;
            }
            var created = new PendingFlow
            {
                RequestId = (ulong)Interlocked.Increment(ref _nextRequestId),
                Peer = peer,
                DestinationGroup = to.Group,
                DeadlineMs = now + (long)_options.NegotiationTimeout.TotalMilliseconds,
                NextRetryMs = now + (long)_options.RetryInterval.TotalMilliseconds,
            };
            pending = _pending.GetOrAdd(flow, created);
            if (ReferenceEquals(pending, created))
            {
                Interlocked.Increment(ref Counters.NegotiationsSent);
                SendMessage(snapshot, to.Group, peer, new NegotiationMessage(NegotiationKind.IsAllowed, flow, created.RequestId));
            }
        }
        lock (pending.Sync)
        {
            if (pending.Closed)
            {
                // The answer arrived between the lookup and the lock: the rule table has it now.
                return Egress.TryGetLive(flow, NowMs, out FlowRule rule) && rule.IsAllowed ? Admission.Allow : Admission.Deny;
            }
            if (_options.PendingMode == PendingMode.Queue && pending.TryEnqueue(packet, _options.QueuePerFlow))
            {
                Interlocked.Increment(ref Counters.Queued);
                return Admission.Queued;
            }
        }
        Interlocked.Increment(ref Counters.QueueDrops);
        return Admission.PendingDropped;
    }

    private void SendMessage(AgentSnapshot snapshot, GroupRuntime keyGroup, PeerVm peer, in NegotiationMessage message)
    {
        Span<byte> payload = stackalloc byte[NegotiationMessage.Size];
        message.Write(payload);
        _sender.TrySend(snapshot, keyGroup, FrameType.Control, payload, peer);
    }

    /// <summary>"Not permitted" for <paramref name="flow"/>, sealed with the key of the source's group (the sender's).</summary>
    private void SendNotice(AgentSnapshot snapshot, PeerVm peer, in FlowKey flow)
    {
        if (snapshot.Directory.TryGetValue(flow.Source, out DirectoryRoute? from))
        {
            Interlocked.Increment(ref Counters.NoticesSent);
            SendMessage(snapshot, from.Group, peer, new NegotiationMessage(NegotiationKind.NotPermitted, flow, 0));
        }
    }
}
