using Microsoft.Data.Sqlite;

namespace OverlayKvm.HostDaemon.Store;

/// <summary>One write transaction: the version it stamps, its clock reading, and whether it changed anything.</summary>
internal sealed class WriteScope(SqliteConnection connection, SqliteTransaction transaction, long version, DateTimeOffset now, string localHost)
{
    /// <summary>The store version this transaction commits as; every changed row is stamped with it.</summary>
    public long Version { get; } = version;

    /// <summary>The time of this change, whole milliseconds (what the database keeps).</summary>
    public DateTimeOffset Now { get; } = now;

    public string LocalHost { get; } = localHost;

    public bool HasChanged { get; private set; }

    public void MarkChanged() => HasChanged = true;

    public SqliteCommand Command(string sql)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command;
    }

    public SqliteCommand Command(string sql, params ReadOnlySpan<(string Name, object? Value)> parameters)
    {
        var command = Command(sql);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return command;
    }

    public int Execute(string sql, params ReadOnlySpan<(string Name, object? Value)> parameters)
    {
        using var command = Command(sql, parameters);
        return command.ExecuteNonQuery();
    }

    public object? Scalar(string sql, params ReadOnlySpan<(string Name, object? Value)> parameters)
    {
        using var command = Command(sql, parameters);
        var value = command.ExecuteScalar();
        return value is DBNull ? null : value;
    }
}
