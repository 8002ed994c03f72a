using OverlayKvm.HostDaemon.Store;
using Microsoft.Extensions.Time.Testing;
using OverlayKvm.TestSupport;

namespace OverlayKvm.HostDaemon.Tests.Store;

/// <summary>A private directory for one test's database; removed (with every store opened in it) on dispose.</summary>
internal sealed class TempStore : IDisposable
{
    private readonly List<SqliteOverlayStore> _opened = [];

    public TempStore()
    {
        Directory = Path.Combine(Path.GetTempPath(), "okvm-store-" + Guid.NewGuid().ToString("N"));
        DatabasePath = Path.Combine(Directory, "state", "overlay.db");
    }

    public string Directory { get; }

    public string DatabasePath { get; }

    public FakeTimeProvider Time { get; } = TestClock.Create();

    public SqliteOverlayStore Open()
    {
        var store = new SqliteOverlayStore(DatabasePath, "host-a", Time);
        _opened.Add(store);
        return store;
    }

    /// <summary>Reads the database file directly, bypassing the store (what is really on disk).</summary>
    public object? QueryScalar(string sql)
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={DatabasePath};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    /// <summary>Changes the database file directly, bypassing the store (e.g. to make it look like an older release's).</summary>
    public void Execute(string sql)
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={DatabasePath};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    public void Dispose()
    {
        foreach (var store in _opened)
        {
            store.Dispose();
        }

        if (System.IO.Directory.Exists(Directory))
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
    }
}
