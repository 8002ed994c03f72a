using System.Globalization;

namespace OverlayKvm.HostDaemon.Store.Etcd;

/// <summary>
/// Where each record lives under the store's prefix (docs/cluster.md "Keys"). Names never contain '/'
/// (<see cref="Core.Model.Validation.NameRules"/>), so a key splits back into its parts without escaping.
/// </summary>
internal sealed class EtcdKeys
{
    public const string DefaultPrefix = "/overlaykvm/";

    public EtcdKeys(string prefix)
    {
        Prefix = prefix.EndsWith('/') ? prefix : prefix + "/";
        Version = Prefix + "meta/version";
        Canary = Prefix + "meta/cluster-key-canary";
    }

    public string Prefix { get; }

    /// <summary>Store version and id counters; every write compares its mod revision (one writer at a time).</summary>
    public string Version { get; }

    /// <summary>A known text sealed with the cluster key: a daemon with the wrong key finds out at start.</summary>
    public string Canary { get; }

    public string Group(string name) => $"{Prefix}groups/{name}";

    public string Application(string group, string name) => $"{Prefix}apps/{group}/{name}";

    public string Domain(string name) => $"{Prefix}domains/{name}";

    public string Host(string name) => $"{Prefix}hosts/{name}";

    public string Credential(string group, int epoch) => $"{Prefix}keys/{group}/{epoch.ToString(CultureInfo.InvariantCulture)}";

    public string Policy(long id) => $"{Prefix}policies/{id.ToString(CultureInfo.InvariantCulture)}";

    public string Parent(string group) => $"{Prefix}parents/{group}";

    /// <summary>Present while the operator keeps the group's engine switched off (value: the version that did it).</summary>
    public string EngineDisabled(string group) => $"{Prefix}engine-disabled/{group}";

    /// <summary>Present while the operator keeps the domain pinned to its host (value: the version that did it).</summary>
    public string DomainPinned(string domain) => $"{Prefix}domain-pinned/{domain}";

    /// <summary>The key without the prefix ("groups/web"), or null for a key outside it.</summary>
    public string? Relative(string key) => key.StartsWith(Prefix, StringComparison.Ordinal) ? key[Prefix.Length..] : null;

    /// <summary>The exclusive end of the prefix range (prefix with its last byte + 1), as etcd's range_end wants.</summary>
    public string RangeEnd => Prefix[..^1] + (char)(Prefix[^1] + 1);
}
