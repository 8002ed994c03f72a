namespace OverlayKvm.Core.Cluster;

/// <summary>
/// Which hosts of the inventory are alive right now. On one host (SQLite) every host is; in a cluster a host is
/// alive while its lease in the store is (hostd's etcd liveness). Members on hosts that are not alive are left out
/// of peers' configuration documents and marked unreachable in the directory, so agents stop sending to them.
/// </summary>
public interface IHostLiveness
{
    /// <summary>True while <paramref name="host"/> holds a live registration. Unknown hosts are not alive.</summary>
    bool IsAlive(string host);

    /// <summary>Raised after a host became alive or stopped being alive. Handlers must not block.</summary>
    event Action? Changed;
}
