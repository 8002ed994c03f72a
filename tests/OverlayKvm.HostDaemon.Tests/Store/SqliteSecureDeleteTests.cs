using System.Net;
using OverlayKvm.Core.Model;

namespace OverlayKvm.HostDaemon.Tests.Store;

/// <summary>Issue 14 item 10: a deleted group's key must not linger in the database file's free pages.</summary>
public sealed class SqliteSecureDeleteTests : IDisposable
{
    private readonly TempStore _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void UndefineGroup_KeyBytesAreGoneFromTheFile_AfterACheckpoint()
    {
        var store = _temp.Open();
        // A second group keeps the table's page alive, so the deleted row's bytes would stay in a free block.
        store.DefineGroup("keep", IPNetwork.Parse("10.9.0.0/16"), ProtectionLevel.Sealed);
        store.DefineGroup("gone", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed);
        byte[] key = store.GetCredentials("gone")[0].Key;
        Assert.True(FileContains(key) || WalContains(key), "the key was never written: the test would prove nothing");

        store.UndefineGroup("gone");
        using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={_temp.DatabasePath};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA wal_checkpoint(TRUNCATE);";
            command.ExecuteNonQuery();
        }

        Assert.False(FileContains(key), "the deleted group's key is still in overlay.db");
        Assert.False(WalContains(key), "the deleted group's key is still in the WAL");
    }

    private bool FileContains(byte[] key) => Contains(_temp.DatabasePath, key);

    private bool WalContains(byte[] key) => Contains(_temp.DatabasePath + "-wal", key);

    private static bool Contains(string path, byte[] key)
    {
        if (!File.Exists(path))
        {
            return false;
        }
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        return bytes.AsSpan().IndexOf(key) >= 0;
    }
}
