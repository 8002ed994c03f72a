using System.Net;
using Microsoft.Data.Sqlite;
using OverlayKvm.Core.Model;
using OverlayKvm.HostDaemon.Store;

namespace OverlayKvm.HostDaemon.Tests.Store;

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class SqliteSchemaTests : IDisposable
{
    private readonly TempStore _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Open_Twice_MigrationsAppliedOnce_WalAndForeignKeysOn()
    {
        using (var store = _temp.Open())
        {
            store.DefineGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed);
        }

        using var reopened = _temp.Open();

        Assert.Equal((long)SqliteSchema.Latest, _temp.QueryScalar("SELECT COUNT(*) FROM schema_version"));
        Assert.Equal((long)SqliteSchema.Latest, _temp.QueryScalar("SELECT MAX(version) FROM schema_version"));
        Assert.Equal("wal", _temp.QueryScalar("PRAGMA journal_mode"));
        Assert.Equal(1L, reopened.CurrentVersion());
    }

    /// <summary>Issue 16: a store from before group ciphers (schema 2) gets the column; its groups keep ChaCha20-Poly1305.</summary>
    [Fact]
    public void Open_StoreFromSchema2_AddsCipher_ExistingGroupsChaCha_NewGroupsChooseTheirs()
    {
        using (var store = _temp.Open())
        {
            store.DefineGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed);
        }
        _temp.Execute("ALTER TABLE groups DROP COLUMN cipher; DELETE FROM schema_version WHERE version = 3;");
        Assert.Equal(2L, _temp.QueryScalar("SELECT MAX(version) FROM schema_version"));

        using var migrated = _temp.Open();
        Assert.Equal(3L, _temp.QueryScalar("SELECT MAX(version) FROM schema_version"));
        Assert.Equal(GroupCipher.ChaCha20Poly1305, migrated.GetGroup("web")!.Cipher);
        migrated.DefineGroup("fast", IPNetwork.Parse("10.2.0.0/16"), ProtectionLevel.Sealed, GroupCipher.Aegis256);
        Assert.Equal(1L, _temp.QueryScalar("SELECT cipher FROM groups WHERE name = 'fast'"));
    }

    [Fact]
    public void Open_SchemaFromNewerRelease_RefusedWithMessage()
    {
        using (_temp.Open())
        {
        }

        using (var connection = new SqliteConnection($"Data Source={_temp.DatabasePath};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "INSERT INTO schema_version (version, applied_at) VALUES (99, 'future')";
            command.ExecuteNonQuery();
        }

        var error = Assert.Throws<InvalidOperationException>(() => new SqliteOverlayStore(_temp.DatabasePath, "host-a"));

        Assert.Contains($"schema version 99 is newer than this overlayd understands ({SqliteSchema.Latest})", error.Message);
    }

    [Fact]
    public void Open_ExistingFileWithLooseMode_TightenedTo0600()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(_temp.DatabasePath)!);
        File.WriteAllBytes(_temp.DatabasePath, []);
        File.SetUnixFileMode(_temp.DatabasePath, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        using var store = _temp.Open();

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_temp.DatabasePath));
        Assert.Equal(0, store.CurrentVersion());
    }

    [Fact]
    public void Open_NotADatabase_FailsClearly()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(_temp.DatabasePath)!);
        File.WriteAllText(_temp.DatabasePath, new string('x', 8192));

        var error = Assert.Throws<SqliteException>(() => new SqliteOverlayStore(_temp.DatabasePath, "host-a"));

        Assert.Contains("not a database", error.Message);
    }
}
