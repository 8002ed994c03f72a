using OverlayKvm.Core.Model;
using OverlayKvm.Core.Store;

namespace OverlayKvm.HostDaemon.Store.Etcd;

public sealed partial class EtcdOverlayStore
{
    /// <summary>The last snapshot built, the model it came from, and until when it stays true (next key retirement).</summary>
    private sealed record CachedSnapshot(EtcdStoreModel Model, StoreSnapshot Snapshot, DateTimeOffset ValidUntil);

    private CachedSnapshot? _snapshotCache;

    /// <inheritdoc/>
    /// <remarks>
    /// One model instance is one etcd revision, so the snapshot is consistent by construction. It is rebuilt only
    /// when the model changed or a key epoch reached its retirement time (the daemon builds one document per domain
    /// after every change).
    /// </remarks>
    public StoreSnapshot ReadSnapshot()
    {
        var model = Model;
        var now = _time.GetUtcNow();
        var cached = Volatile.Read(ref _snapshotCache);
        if (cached is not null && ReferenceEquals(cached.Model, model) && now < cached.ValidUntil)
        {
            return cached.Snapshot;
        }

        var credentials = new Dictionary<string, IReadOnlyList<GroupCredential>>(StringComparer.Ordinal);
        var validUntil = DateTimeOffset.MaxValue;
        foreach (var group in model.Groups.Keys)
        {
            var live = LiveCredentials(model, group, now);
            if (live.Count > 0)
            {
                credentials[group] = live.AsReadOnly();
            }

            foreach (var credential in live)
            {
                if (credential.RetiresAt is { } retires && retires < validUntil)
                {
                    validUntil = retires;
                }
            }
        }

        var snapshot = new StoreSnapshot(
            model.Version,
            [.. model.Groups.Values],
            [.. model.Applications.Values],
            [.. model.Domains.Values],
            [.. model.Hosts.Values],
            credentials.AsReadOnly())
        {
            Policies = [.. model.Policies.Values],
            GroupParents = [.. model.Parents.Values],
        };
        Volatile.Write(ref _snapshotCache, new CachedSnapshot(model, snapshot, validUntil));
        return snapshot;
    }
}
