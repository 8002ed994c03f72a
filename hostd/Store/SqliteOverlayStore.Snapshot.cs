using OverlayKvm.Core.Store;

namespace OverlayKvm.HostDaemon.Store;

public sealed partial class SqliteOverlayStore
{
    /// <inheritdoc/>
    /// <remarks>One read transaction: WAL gives it a fixed view, so a concurrent write lands wholly before or after.</remarks>
    public StoreSnapshot ReadSnapshot()
    {
        using var connection = OpenReader();
        using var transaction = connection.BeginTransaction(deferred: true);
        var version = ReadVersion(connection, transaction);
        var groups = LoadGroups(connection, transaction);
        var applications = LoadApplications(connection, transaction);

        using var domainCommand = connection.CreateCommand();
        domainCommand.Transaction = transaction;
        domainCommand.CommandText = $"SELECT {SqliteRows.DomainColumns} FROM domains ORDER BY name";
        var domains = ReadAll(domainCommand, SqliteRows.ReadDomain);

        using var hostCommand = connection.CreateCommand();
        hostCommand.Transaction = transaction;
        hostCommand.CommandText = $"SELECT {SqliteRows.HostColumns} FROM hosts ORDER BY name";
        var hosts = ReadAll(hostCommand, SqliteRows.ReadHost);

        var credentials = LoadLiveCredentials(connection, transaction);
        transaction.Commit();
        return new StoreSnapshot(version, groups, applications, domains, hosts, credentials);
    }
}
