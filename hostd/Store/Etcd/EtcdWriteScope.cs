using OverlayKvm.Core.Model;
using OverlayKvm.Core.Policy;

namespace OverlayKvm.HostDaemon.Store.Etcd;

/// <summary>
/// One write attempt: the model it started from (edited as it goes, so later checks in the same write see
/// earlier edits), the version it commits as, its clock reading, and the puts and deletes to send in one Txn.
/// </summary>
internal sealed class EtcdWriteScope(EtcdStoreModel start, EtcdRecordCodec codec, DateTimeOffset now, string localHost)
{
    // By key, last write wins: etcd refuses a Txn that names one key twice (a stamp then a put of the same group).
    private readonly Dictionary<string, byte[]?> _operations = new(StringComparer.Ordinal);

    public EtcdStoreModel Model { get; private set; } = start;

    /// <summary>The revision of meta/version the write read; the Txn commits only if it is still that.</summary>
    public long ReadMetaRevision { get; } = start.MetaModRevision;

    public long Version { get; } = start.Version + 1;

    public DateTimeOffset Now { get; } = now;

    public string LocalHost { get; } = localHost;

    public EtcdKeys Keys => codec.Keys;

    public bool HasChanged => _operations.Count > 0;

    public IReadOnlyDictionary<string, byte[]?> Operations => _operations;

    public void Put(ApplicationGroup g) => Put(Keys.Group(g.Name), EtcdRecordCodec.Encode(g));

    public void Put(Application a) => Put(Keys.Application(a.Group, a.Name), EtcdRecordCodec.Encode(a));

    public void Put(DomainRecord d) => Put(Keys.Domain(d.Name), EtcdRecordCodec.Encode(d));

    public void Put(HostRecord h) => Put(Keys.Host(h.Name), EtcdRecordCodec.Encode(h));

    public void Put(GroupCredential c) => Put(Keys.Credential(c.Group, c.Epoch), codec.Encode(c));

    public void Put(AccessPolicy p) => Put(Keys.Policy(p.Id), EtcdRecordCodec.Encode(p));

    public void Put(GroupParent p) => Put(Keys.Parent(p.Group), EtcdRecordCodec.Encode(p));

    /// <summary>Marks the group's engine as switched off by the operator (the key's presence is the switch).</summary>
    public void PutEngineDisabled(string group) =>
        Put(Keys.EngineDisabled(group), System.Text.Encoding.UTF8.GetBytes(Version.ToString(System.Globalization.CultureInfo.InvariantCulture)));

    /// <summary>Pins the domain (the key's presence is the pin).</summary>
    public void PutDomainPinned(string domain) =>
        Put(Keys.DomainPinned(domain), System.Text.Encoding.UTF8.GetBytes(Version.ToString(System.Globalization.CultureInfo.InvariantCulture)));

    public void Delete(string key)
    {
        _operations[key] = null;
        Model = Model.Apply(codec, key, default, deleted: true, 0);
    }

    /// <summary>Reserves the next group number (never reused, like SQLite's AUTOINCREMENT).</summary>
    public int TakeGroupNumber()
    {
        var number = Model.Meta.NextGroupNumber;
        Model = Model with { Meta = Model.Meta with { NextGroupNumber = number + 1 } };
        return number;
    }

    /// <summary>Reserves the next policy id (never reused).</summary>
    public long TakePolicyId()
    {
        var id = Model.Meta.NextPolicyId;
        Model = Model with { Meta = Model.Meta with { NextPolicyId = id + 1 } };
        return id;
    }

    /// <summary>Stamps a group with this write's version: its members, keys or policies changed.</summary>
    public void StampGroup(string name)
    {
        if (Model.Groups.TryGetValue(name, out var group) && group.Version != Version)
        {
            Put(group with { Version = Version });
        }
    }

    /// <summary>The meta record this write commits: version + 1 and the id counters it advanced.</summary>
    public byte[] CommittedMeta() => EtcdRecordCodec.Encode(Model.Meta with { Version = Version });

    private void Put(string key, byte[] value)
    {
        _operations[key] = value;
        Model = Model.Apply(codec, key, value, deleted: false, 0);
    }
}
