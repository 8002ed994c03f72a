using System.Collections.Concurrent;

namespace OverlayKvm.GuestAgent.Policy;

/// <summary>
/// One direction's rule set (egress: flows this VM's apps send; ingress: flows they receive). Read by the
/// datapath threads without locks; written on decisions, answers, invalidations and sweeps. Bounded: when full,
/// new rules are not recorded (the caller decides uncached or refuses) so a scan of ports cannot grow it forever.
/// </summary>
internal sealed class RuleTable
{
    private readonly ConcurrentDictionary<FlowKey, FlowRule> _rules = new();
    private readonly int _capacity;

    public RuleTable(int capacity)
    {
        _capacity = capacity;
    }

    public int Count => _rules.Count;

    /// <summary>The rule for <paramref name="key"/> if it exists and has not expired.</summary>
    public bool TryGetLive(in FlowKey key, long nowMs, out FlowRule rule)
    {
        if (_rules.TryGetValue(key, out rule!) && rule.ExpiresAtMs > nowMs)
        {
            return true;
        }
        rule = null!;
        return false;
    }

    /// <summary>Records (or replaces) a rule; false when the table is full and the key is new.</summary>
    public bool TrySet(in FlowKey key, FlowRule rule)
    {
        if (_rules.Count >= _capacity && !_rules.ContainsKey(key))
        {
            return false;
        }
        _rules[key] = rule;
        return true;
    }

    public bool Remove(in FlowKey key) => _rules.TryRemove(key, out _);

    /// <summary>Removes every rule the predicate selects; returns the removed ones (for notices and counts).</summary>
    public List<KeyValuePair<FlowKey, FlowRule>> RemoveWhere(Func<FlowKey, FlowRule, bool> predicate)
    {
        var removed = new List<KeyValuePair<FlowKey, FlowRule>>();
        foreach (var pair in _rules)
        {
            if (predicate(pair.Key, pair.Value) && _rules.TryRemove(pair))
            {
                removed.Add(pair);
            }
        }
        return removed;
    }

    public List<KeyValuePair<FlowKey, FlowRule>> Snapshot() => [.. _rules];
}
