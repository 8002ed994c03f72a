using System.Buffers;
using OverlayKvm.Core.Policy;
using OverlayKvm.Core.Wire;
using OverlayKvm.GuestAgent.Config;
using OverlayKvm.GuestAgent.Pipeline;

namespace OverlayKvm.GuestAgent.Policy;

internal sealed partial class TransmissionManager
{
    /// <summary>
    /// A negotiation message that arrived sealed in <paramref name="group"/> (one of ours) from <paramref name="peer"/>
    /// (already authenticated and replay-checked). Every address is checked against the directory: the remote
    /// address must be an app of that peer, the local one an app of this VM; anything else is counted and ignored.
    /// </summary>
    public void OnControl(AgentSnapshot snapshot, GroupRuntime group, PeerVm peer, ReadOnlySpan<byte> plaintext)
    {
        if (!NegotiationMessage.TryRead(plaintext, out NegotiationMessage message))
        {
            Interlocked.Increment(ref Counters.BadControl);
            return;
        }
        FlowKey flow = message.Flow;
        bool asked = message.Kind == NegotiationKind.IsAllowed;
        // IsAllowed: the peer's app sends to ours. Every other kind: ours sends to the peer's.
        uint remote = asked ? flow.Source : flow.Destination;
        uint local = asked ? flow.Destination : flow.Source;
        if (!snapshot.Directory.TryGetValue(remote, out DirectoryRoute? remoteRoute) || !ReferenceEquals(remoteRoute.Member.Peer, peer)
            || !snapshot.Directory.TryGetValue(local, out DirectoryRoute? localRoute) || !localRoute.Member.IsLocal
            || !ReferenceEquals(localRoute.Group, group))
        {
            Interlocked.Increment(ref Counters.BadControl);
            return;
        }
        long now = NowMs;
        switch (message.Kind)
        {
            case NegotiationKind.IsAllowed:
                Interlocked.Increment(ref Counters.NegotiationsReceived);
                bool allowed = DecideHere(snapshot, Ingress, flow, peer, now, cacheDeny: true)?.IsAllowed == true;
                SendMessage(snapshot, remoteRoute.Group, peer, new NegotiationMessage(allowed ? NegotiationKind.Allowed : NegotiationKind.NotAllowed, flow, message.RequestId));
                break;
            case NegotiationKind.Allowed:
            case NegotiationKind.NotAllowed:
                OnAnswer(snapshot, flow, message, peer, remoteRoute, now);
                break;
            case NegotiationKind.NotPermitted:
                Interlocked.Increment(ref Counters.NoticesReceived);
                int removed = Egress.Remove(flow) ? 1 : 0;
                if (flow.Protocol == 0 && flow.Port == 0)
                {
                    removed += Egress.RemoveWhere((k, _) => k.Source == flow.Source && k.Destination == flow.Destination).Count;
                }
                Interlocked.Add(ref Counters.RulesInvalidated, removed);
                break;
        }
    }

    private void OnAnswer(AgentSnapshot snapshot, in FlowKey flow, in NegotiationMessage message, PeerVm peer, DirectoryRoute to, long now)
    {
        if (!_pending.TryGetValue(flow, out PendingFlow? pending) || pending.RequestId != message.RequestId)
        {
            // A late answer (after the timeout) or one we never asked for.
            Interlocked.Increment(ref Counters.BadControl);
            return;
        }
        bool allowed = message.Kind == NegotiationKind.Allowed;
        Interlocked.Increment(ref allowed ? ref Counters.AllowedReceived : ref Counters.NotAllowedReceived);
        Interlocked.Add(ref Counters.NegotiationMicros, (long)System.Diagnostics.Stopwatch.GetElapsedTime(pending.StartedTimestamp).TotalMicroseconds);
        var verdict = allowed ? PolicyVerdict.Allow : PolicyVerdict.Deny;
        lock (pending.Sync)
        {
            FlowKey key = flow;
            int count = pending.Close(allowed ? packet => Release(snapshot, to, packet) : null);
            if (!allowed)
            {
                _drops.Drop(DropReason.DeniedEgress, count);
            }
            Egress.TrySet(flow, NewRule(verdict, RuleOrigin.Negotiated, now, 0, $"{(allowed ? "allowed" : "not allowed")} by {peer.Domain}", peer));
            _pending.TryRemove(new KeyValuePair<FlowKey, PendingFlow>(key, pending));
        }
    }

    /// <summary>Sends a packet that waited for its flow's answer, by the route's network plan (negotiated flows cross groups: never the engine).</summary>
    private void Release(AgentSnapshot snapshot, DirectoryRoute to, ReadOnlyMemory<byte> packet)
    {
        RoutePlan plan = to.Member.CrossGroupPlan;
        if (_sender.TrySend(snapshot, to.Group, plan, packet.Span, to.Member.Peer!))
        {
            Interlocked.Increment(ref Counters.Released);
            to.Member.Peer!.Counters.Sealed.CountOut(packet.Length);
            if (_options.StatefulReplies && Ipv4Packet.TryReadAddresses(packet.Span, out uint source, out uint destination))
            {
                Ipv4Packet.ReadFlow(packet.Span, out byte protocol, out ushort sourcePort, out ushort destinationPort);
                Connections.Note(new ConnectionKey(source, sourcePort, destination, destinationPort, protocol), to.Member.Peer!.SenderIndex, NowMs);
            }
            if (snapshot.Directory.TryGetValue(SourceOf(packet.Span), out DirectoryRoute? from))
            {
                (plan == RoutePlan.Clear ? from.Group.Counters.Clear : from.Group.Counters.Sealed).CountOut(packet.Length);
            }
        }
        else
        {
            _drops.Drop(DropReason.IoError);
        }
    }

    private static uint SourceOf(ReadOnlySpan<byte> packet) =>
        Ipv4Packet.TryReadAddresses(packet, out uint source, out _) ? source : 0;

    /// <summary>
    /// Housekeeping (R4.9, R4.13), run every few hundred milliseconds: re-sends unanswered Is Allowed, turns
    /// silence past the timeout into a deny rule with its TTL, and deletes expired rules.
    /// </summary>
    public void Tick()
    {
        long now = NowMs;
        AgentSnapshot? snapshot = _state.Current;
        foreach (var (flow, pending) in _pending)
        {
            if (now >= pending.DeadlineMs)
            {
                lock (pending.Sync)
                {
                    if (pending.Closed)
                    {
                        continue;
                    }
                    Interlocked.Increment(ref Counters.Timeouts);
                    _drops.Drop(DropReason.DeniedEgress, pending.Close(null));
                    Egress.TrySet(flow, NewRule(PolicyVerdict.Deny, RuleOrigin.Negotiated, now, 0, $"no answer from {pending.Peer.Domain} within {_options.NegotiationTimeout.TotalMilliseconds:0} ms", pending.Peer));
                    _pending.TryRemove(new KeyValuePair<FlowKey, PendingFlow>(flow, pending));
                }
            }
            else if (now >= pending.NextRetryMs && snapshot is not null)
            {
                pending.NextRetryMs = now + (long)_options.RetryInterval.TotalMilliseconds;
                SendMessage(snapshot, pending.DestinationGroup, pending.Peer, new NegotiationMessage(NegotiationKind.IsAllowed, flow, pending.RequestId));
            }
        }
        int expired = Egress.RemoveWhere((_, rule) => rule.ExpiresAtMs <= now).Count + Ingress.RemoveWhere((_, rule) => rule.ExpiresAtMs <= now).Count;
        Interlocked.Add(ref Counters.RulesExpired, expired);
        Connections.RemoveWhere((_, connection) => now - Volatile.Read(ref connection.LastUsedMs) >= _allowTtlMs);
    }

    /// <summary>
    /// A new configuration (R4.15, R4.16): flush the rules of members that left or moved; re-decide the rules
    /// this VM is the authority for and remove those whose verdict changed — telling the sender, when the rule
    /// was a remote sender's (either verdict), so it renegotiates; leave every other rule alone.
    /// </summary>
    private void Reconcile(AgentSnapshot snapshot)
    {
        int removed = 0;
        Connections.RemoveWhere((_, connection) => connection.PeerIndex != 0 && !snapshot.PeersByIndex.ContainsKey(connection.PeerIndex));
        removed += Egress.RemoveWhere((flow, rule) => IsStale(snapshot, flow, rule, egress: true)).Count;
        foreach (var (flow, rule) in Ingress.RemoveWhere((flow, rule) => IsStale(snapshot, flow, rule, egress: false)))
        {
            removed++;
            if (snapshot.PeersByIndex.TryGetValue(rule.PeerIndex, out PeerVm? peer)
                && snapshot.Directory.TryGetValue(flow.Source, out DirectoryRoute? from) && ReferenceEquals(from.Member.Peer, peer))
            {
                Interlocked.Increment(ref Counters.NoticesSent);
                SendMessage(snapshot, from.Group, peer, new NegotiationMessage(NegotiationKind.NotPermitted, flow, 0));
            }
        }
        foreach (var (flow, pending) in _pending)
        {
            if (!snapshot.Directory.TryGetValue(flow.Destination, out DirectoryRoute? to) || !ReferenceEquals(to.Member.Peer?.Domain, pending.Peer.Domain))
            {
                lock (pending.Sync)
                {
                    _drops.Drop(DropReason.NoRoute, pending.Close(null));
                    _pending.TryRemove(new KeyValuePair<FlowKey, PendingFlow>(flow, pending));
                }
            }
        }
        Interlocked.Add(ref Counters.RulesInvalidated, removed);
    }

    private static bool IsStale(AgentSnapshot snapshot, in FlowKey flow, FlowRule rule, bool egress)
    {
        uint local = egress ? flow.Source : flow.Destination;
        uint remote = egress ? flow.Destination : flow.Source;
        if (!snapshot.Directory.TryGetValue(local, out DirectoryRoute? mine) || !mine.Member.IsLocal
            || !snapshot.Directory.TryGetValue(remote, out DirectoryRoute? theirs)
            || (theirs.Member.Peer?.SenderIndex ?? 0) != rule.PeerIndex)
        {
            return true;
        }
        DirectoryRoute destination = egress ? theirs : mine;
        if (!snapshot.Policy.IsAuthorityFor(destination.Group.Id))
        {
            return false;
        }
        return snapshot.Policy.TryDecide(flow.Source, flow.Destination, flow.Protocol, flow.Port, out PolicyDecision decision)
            ? decision.Verdict != rule.Verdict
            : true;
    }
}
