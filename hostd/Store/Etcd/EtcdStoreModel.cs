using System.Collections.Immutable;
using System.Globalization;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.Policy;

namespace OverlayKvm.HostDaemon.Store.Etcd;

/// <summary>
/// The store's records as of one etcd revision, decoded, immutable (a write edits a copy; readers keep the
/// instance they took). Built from a range read and moved forward by watch events through <see cref="Apply"/>,
/// the one place that turns a key and its value into a record, so writes, watches and resyncs agree.
/// </summary>
internal sealed record EtcdStoreModel(
    MetaRecord Meta,
    long MetaModRevision,
    ImmutableSortedDictionary<string, ApplicationGroup> Groups,
    ImmutableSortedDictionary<(string Group, string Name), Application> Applications,
    ImmutableSortedDictionary<string, DomainRecord> Domains,
    ImmutableSortedDictionary<string, HostRecord> Hosts,
    ImmutableSortedDictionary<(string Group, int Epoch), GroupCredential> Credentials,
    ImmutableSortedDictionary<long, AccessPolicy> Policies,
    ImmutableSortedDictionary<string, GroupParent> Parents,
    ImmutableSortedSet<string> EngineDisabled)
{
    /// <summary>Domains an operator pinned (<c>domain-pinned/NAME</c>): rebalance never moves them.</summary>
    public ImmutableSortedSet<string> Pinned { get; init; } = ImmutableSortedSet.Create<string>(StringComparer.Ordinal);

    public static readonly EtcdStoreModel Empty = new(
        new MetaRecord(0, 1, 1),
        0,
        ImmutableSortedDictionary.Create<string, ApplicationGroup>(StringComparer.Ordinal),
        ImmutableSortedDictionary.Create<(string, string), Application>(PairComparer.Instance),
        ImmutableSortedDictionary.Create<string, DomainRecord>(StringComparer.Ordinal),
        ImmutableSortedDictionary.Create<string, HostRecord>(StringComparer.Ordinal),
        ImmutableSortedDictionary.Create<(string, int), GroupCredential>(EpochComparer.Instance),
        ImmutableSortedDictionary<long, AccessPolicy>.Empty,
        ImmutableSortedDictionary.Create<string, GroupParent>(StringComparer.Ordinal),
        ImmutableSortedSet.Create<string>(StringComparer.Ordinal));

    public long Version => Meta.Version;

    /// <summary>
    /// The model after <paramref name="key"/> was put (<paramref name="value"/> non-null) or deleted. Keys the
    /// store does not own (the canary, other components' keys under the prefix) leave it unchanged.
    /// </summary>
    public EtcdStoreModel Apply(EtcdRecordCodec codec, string key, ReadOnlySpan<byte> value, bool deleted, long modRevision)
    {
        var relative = codec.Keys.Relative(key);
        if (relative is null)
        {
            return this;
        }

        var parts = relative.Split('/');
        switch (parts)
        {
            case ["meta", "version"]:
                return deleted ? this with { Meta = Empty.Meta, MetaModRevision = 0 }
                    : this with { Meta = EtcdRecordCodec.DecodeMeta(value), MetaModRevision = modRevision };
            case ["groups", var g]:
                return this with { Groups = deleted ? Groups.Remove(g) : Groups.SetItem(g, EtcdRecordCodec.DecodeGroup(value)) };
            case ["apps", var g, var a]:
                return this with { Applications = deleted ? Applications.Remove((g, a)) : Applications.SetItem((g, a), EtcdRecordCodec.DecodeApplication(value)) };
            case ["domains", var d]:
                return this with { Domains = deleted ? Domains.Remove(d) : Domains.SetItem(d, EtcdRecordCodec.DecodeDomain(value)) };
            case ["hosts", var h]:
                return this with { Hosts = deleted ? Hosts.Remove(h) : Hosts.SetItem(h, EtcdRecordCodec.DecodeHost(value)) };
            case ["keys", var g, var e] when int.TryParse(e, NumberStyles.None, CultureInfo.InvariantCulture, out var epoch):
                return this with { Credentials = deleted ? Credentials.Remove((g, epoch)) : Credentials.SetItem((g, epoch), codec.DecodeCredential(key, value)) };
            case ["policies", var p] when long.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out var id):
                return this with { Policies = deleted ? Policies.Remove(id) : Policies.SetItem(id, EtcdRecordCodec.DecodePolicy(value)) };
            case ["parents", var g]:
                return this with { Parents = deleted ? Parents.Remove(g) : Parents.SetItem(g, EtcdRecordCodec.DecodeParent(value)) };
            case ["engine-disabled", var g]:
                return this with { EngineDisabled = deleted ? EngineDisabled.Remove(g) : EngineDisabled.Add(g) };
            case ["domain-pinned", var d]:
                return this with { Pinned = deleted ? Pinned.Remove(d) : Pinned.Add(d) };
            default:
                return this;
        }
    }

    /// <summary>Sorts apps by group, then name (ordinal), like the SQLite store's ORDER BY.</summary>
    private sealed class PairComparer : IComparer<(string Group, string Name)>
    {
        public static readonly PairComparer Instance = new();

        public int Compare((string Group, string Name) x, (string Group, string Name) y) =>
            string.CompareOrdinal(x.Group, y.Group) is var byGroup and not 0 ? byGroup : string.CompareOrdinal(x.Name, y.Name);
    }

    private sealed class EpochComparer : IComparer<(string Group, int Epoch)>
    {
        public static readonly EpochComparer Instance = new();

        public int Compare((string Group, int Epoch) x, (string Group, int Epoch) y) =>
            string.CompareOrdinal(x.Group, y.Group) is var byGroup and not 0 ? byGroup : x.Epoch.CompareTo(y.Epoch);
    }
}
