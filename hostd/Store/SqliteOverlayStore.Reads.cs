using Microsoft.Data.Sqlite;

namespace OverlayKvm.HostDaemon.Store;

/// <summary>
/// The read-only queries of the getters and listings: each opens its own reader connection (WAL readers never wait
/// for the writer), runs one command with named parameters and maps the rows. One place for that sequence instead
/// of a copy in every getter.
/// </summary>
public sealed partial class SqliteOverlayStore
{
    /// <summary>The first row <paramref name="sql"/> returns, mapped, or null when there is none.</summary>
    private T? ReadOne<T>(string sql, Func<SqliteDataReader, T> read, params ReadOnlySpan<(string Name, object? Value)> parameters)
        where T : class
    {
        using var connection = OpenReader();
        using var command = ReaderCommand(connection, sql, parameters);
        using var reader = command.ExecuteReader();
        return reader.Read() ? read(reader) : null;
    }

    /// <summary>Every row <paramref name="sql"/> returns, mapped, in the query's order.</summary>
    private List<T> ReadList<T>(string sql, Func<SqliteDataReader, T> read, params ReadOnlySpan<(string Name, object? Value)> parameters)
    {
        using var connection = OpenReader();
        using var command = ReaderCommand(connection, sql, parameters);
        return ReadAll(command, read);
    }

    /// <summary>Every row of <paramref name="sql"/> on a connection (and transaction) the caller holds: the snapshot's reads.</summary>
    private static List<T> ReadAll<T>(SqliteConnection connection, SqliteTransaction? transaction, string sql, Func<SqliteDataReader, T> read)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return ReadAll(command, read);
    }

    private static SqliteCommand ReaderCommand(SqliteConnection connection, string sql, ReadOnlySpan<(string Name, object? Value)> parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return command;
    }

    private static List<T> ReadAll<T>(SqliteCommand command, Func<SqliteDataReader, T> read)
    {
        var list = new List<T>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            list.Add(read(reader));
        }

        return list;
    }
}
