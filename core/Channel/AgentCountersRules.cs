using OverlayKvm.Core.Api;
using OverlayKvm.Core.Model.Validation;

namespace OverlayKvm.Core.Channel;

/// <summary>
/// What overlayd accepts as a guest's counters (the guest is hostile, docs/threat-model.md): a bounded reply size,
/// bounded list and dictionary sizes, legal names, no negative counter. A reply that breaks a rule is refused
/// whole with the first rule it broke, counted as a rejected message, and never reaches an operator or Prometheus.
/// </summary>
internal static class AgentCountersRules
{
    /// <summary>Largest CounterReport payload: a VM with the most groups and apps fits in a few kilobytes.</summary>
    public const int MaxReplyBytes = 256 * 1024;
    public const int MaxGroups = 256;
    public const int MaxAdapters = 256;
    public const int MaxAppsPerAdapter = 1024;
    public const int MaxNamedCounters = 64;
    /// <summary>Peer VMs in one reply: a member of groups spanning this many VMs is far beyond what one host plans for.</summary>
    public const int MaxPeers = 1024;
    /// <summary>Counter names (drop reasons, fallbacks, transmission counters): short lowercase words with dashes.</summary>
    public const int MaxCounterNameLength = 48;

    /// <summary>Null when acceptable, else the first problem, naming the field.</summary>
    public static string? Check(AgentCounters c)
    {
        if (c.ConfigVersion is < 0)
        {
            return "configVersion: negative";
        }
        if (c.Groups.Count > MaxGroups)
        {
            return $"groups: {c.Groups.Count} entries, at most {MaxGroups}";
        }
        for (int i = 0; i < c.Groups.Count; i++)
        {
            AgentGroupCounters g = c.Groups[i];
            string where = $"groups[{i}]";
            if (!NameRules.IsValid(g.Group))
            {
                return $"{where}.group: not a legal group name";
            }
            if ((CheckPath($"{where}.local", g.Local) ?? CheckPath($"{where}.engine", g.Engine) ?? CheckPath($"{where}.sealed", g.Sealed) ?? CheckPath($"{where}.clear", g.Clear)) is { } bad)
            {
                return bad;
            }
            if (g.SendEpoch is < 0)
            {
                return $"{where}.sendEpoch: negative";
            }
        }
        if (CheckNamed("drops", c.Drops) is { } drops)
        {
            return drops;
        }
        if (c.Transmission is { } t)
        {
            if (CheckNamed("transmission.counters", t.Counters) is { } tc)
            {
                return tc;
            }
            if (t.EgressRules < 0 || t.IngressRules < 0 || t.Pending < 0 || t.Policies < 0)
            {
                return "transmission: negative rule, pending or policy count";
            }
        }
        if (c.Engine is { } e)
        {
            if (CheckNamed("engine.fallbacks", e.Fallbacks) is { } ef)
            {
                return ef;
            }
            if (e.RingDrops < 0)
            {
                return "engine.ringDrops: negative";
            }
        }
        if (c.Adapters.Count > MaxAdapters)
        {
            return $"adapters: {c.Adapters.Count} entries, at most {MaxAdapters}";
        }
        for (int i = 0; i < c.Adapters.Count; i++)
        {
            AgentAdapterCounters a = c.Adapters[i];
            // Linux interface names: at most 15 bytes (IFNAMSIZ − 1).
            if (a.Device.Length is 0 or > 15 || !NameRules.IsValid(a.Device))
            {
                return $"adapters[{i}].device: not an interface name";
            }
            if (!NameRules.IsValid(a.Group))
            {
                return $"adapters[{i}].group: not a legal group name";
            }
            if (a.Count < 0 || a.Apps.Count > MaxAppsPerAdapter)
            {
                return $"adapters[{i}]: negative count or more than {MaxAppsPerAdapter} apps";
            }
            foreach (string app in a.Apps)
            {
                if (!NameRules.IsValid(app))
                {
                    return $"adapters[{i}].apps: not a legal app name";
                }
            }
        }
        return CheckPeers(c.Peers);
    }

    private static string? CheckPeers(IReadOnlyList<AgentPeerCounters> peers)
    {
        if (peers.Count > MaxPeers)
        {
            return $"peers: {peers.Count} entries, at most {MaxPeers}";
        }
        for (int i = 0; i < peers.Count; i++)
        {
            AgentPeerCounters p = peers[i];
            if (p is null || !NameRules.IsValid(p.Domain))
            {
                return $"peers[{i}].domain: not a legal domain name";
            }
            if ((CheckPath($"peers[{i}].engine", p.Engine) ?? CheckPath($"peers[{i}].sealed", p.Sealed)) is { } bad)
            {
                return bad;
            }
            if (i > 0 && string.CompareOrdinal(peers[i - 1].Domain, p.Domain) >= 0)
            {
                // Sorted and unique, so a consumer never sums two entries for one VM.
                return $"peers[{i}].domain: not in strictly ascending order (duplicate or unsorted)";
            }
        }
        return null;
    }

    private static string? CheckPath(string where, AgentPathCounters p) =>
        p.PacketsIn < 0 || p.BytesIn < 0 || p.PacketsOut < 0 || p.BytesOut < 0 ? $"{where}: negative counter" : null;

    private static string? CheckNamed(string where, IReadOnlyDictionary<string, long> counters)
    {
        if (counters.Count > MaxNamedCounters)
        {
            return $"{where}: {counters.Count} entries, at most {MaxNamedCounters}";
        }
        foreach (var (name, value) in counters)
        {
            if (!IsCounterName(name))
            {
                return $"{where}: '{(name.Length > 20 ? name[..20] + "..." : name)}' is not a counter name";
            }
            if (value < 0)
            {
                return $"{where}.{name}: negative";
            }
        }
        return null;
    }

    /// <summary>[a-z0-9] words joined by '-' or '_', at most <see cref="MaxCounterNameLength"/>: safe as a Prometheus label value and in a terminal.</summary>
    public static bool IsCounterName(string name)
    {
        if (name.Length is 0 or > MaxCounterNameLength)
        {
            return false;
        }
        foreach (char ch in name)
        {
            if (!(char.IsAsciiLetterLower(ch) || char.IsAsciiDigit(ch) || ch is '-' or '_'))
            {
                return false;
            }
        }
        return true;
    }
}
