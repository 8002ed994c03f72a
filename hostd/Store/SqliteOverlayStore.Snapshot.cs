using Microsoft.Data.Sqlite;
using OverlayKvm.Core.Store;

namespace OverlayKvm.HostDaemon.Store;

public sealed partial class SqliteOverlayStore
{
    /// <summary>The last snapshot read, and until when it stays true even without a write (next key retirement).</summary>
    private sealed record CachedSnapshot(StoreSnapshot Snapshot, DateTimeOffset ValidUntil);

    private CachedSnapshot? _snapshotCache;

    /// <inheritdoc/>
    /// <remarks>
    /// One read transaction: WAL gives it a fixed view, so a concurrent write lands wholly before or after.
    /// The daemon builds one document per domain after every change, so the last snapshot is reused while the
    /// store version (read from the file, so writes by another process count too) is unchanged and no key
    /// epoch has reached its retirement time since.
    /// </remarks>
    public StoreSnapshot ReadSnapshot() => ReadSnapshot(useCache: true);

    /// <summary>With <paramref name="useCache"/> false, always reads the file (benchmarks measure the real read).</summary>
    internal StoreSnapshot ReadSnapshot(bool useCache)
    {
        using var connection = OpenReader();
        using var transaction = connection.BeginTransaction(deferred: true);
        var version = ReadVersion(connection, transaction);
        var now = _time.GetUtcNow();
        var cached = Volatile.Read(ref _snapshotCache);
        if (useCache && cached is not null && cached.Snapshot.Version == version && now < cached.ValidUntil)
        {
            return cached.Snapshot;
        }

        var groups = LoadGroups(connection, transaction);
        var applications = LoadApplications(connection, transaction);
        using var domainCommand = Command(connection, transaction, $"SELECT {SqliteRows.DomainColumns} FROM domains ORDER BY name");
        var domains = ReadAll(domainCommand, SqliteRows.ReadDomain);
        using var hostCommand = Command(connection, transaction, $"SELECT {SqliteRows.HostColumns} FROM hosts ORDER BY name");
        var hosts = ReadAll(hostCommand, SqliteRows.ReadHost);
        var credentials = LoadLiveCredentials(connection, transaction);
        var policies = LoadPolicies(connection, transaction);
        var parents = LoadGroupParents(connection, transaction);
        transaction.Commit();

        var validUntil = DateTimeOffset.MaxValue;
        foreach (var list in credentials.Values)
        {
            foreach (var credential in list)
            {
                if (credential.RetiresAt is { } retires && retires < validUntil)
                {
                    validUntil = retires;
                }
            }
        }

        // Shared between callers through the cache: hand out read-only views so no caller can alter another's view.
        var snapshot = new StoreSnapshot(
            version,
            groups.AsReadOnly(),
            applications.AsReadOnly(),
            domains.AsReadOnly(),
            hosts.AsReadOnly(),
            credentials.AsReadOnly())
        {
            Policies = policies.AsReadOnly(),
            GroupParents = parents.AsReadOnly(),
        };
        Volatile.Write(ref _snapshotCache, new CachedSnapshot(snapshot, validUntil));
        return snapshot;
    }

    private static SqliteCommand Command(SqliteConnection connection, SqliteTransaction transaction, string sql)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command;
    }
}
