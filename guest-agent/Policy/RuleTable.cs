namespace OverlayKvm.GuestAgent.Policy;

/// <summary>
/// One direction's rule set (egress: flows this VM's apps send; ingress: flows they receive). Read by the
/// datapath threads without locks; written on decisions, answers, invalidations and sweeps. Bounded, with a
/// share per peer VM (<see cref="PeerQuotaTable{TKey, TValue}"/>): a peer that scans ports displaces only its
/// own rules; when the whole table is full, new rules are not recorded (the caller decides uncached or refuses).
/// </summary>
internal sealed class RuleTable : PeerQuotaTable<FlowKey, FlowRule>
{
    public RuleTable(int capacity, int perPeer)
        : base(capacity, perPeer)
    {
    }

    /// <summary>The rule for <paramref name="key"/> if it exists and has not expired (marks it used).</summary>
    public bool TryGetLive(in FlowKey key, long nowMs, out FlowRule rule)
    {
        if (TryGetValue(key, out rule) && rule.ExpiresAtMs > nowMs)
        {
            rule.Touch(nowMs);
            return true;
        }
        rule = null!;
        return false;
    }
}
