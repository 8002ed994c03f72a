using Microsoft.Data.Sqlite;

namespace OverlayKvm.HostDaemon.Store;

/// <summary>
/// Numbered schema migrations. Each runs once, in its own transaction together with the row that records it
/// in <c>schema_version</c>, so a crash leaves the schema either before or after a migration, never inside.
/// Migrations are append-only: never edit a shipped one, add the next number.
/// </summary>
internal static class SqliteSchema
{
    private static readonly (int Number, string Sql)[] Migrations =
    [
        (1, """
            CREATE TABLE meta (
                key   TEXT PRIMARY KEY NOT NULL,
                value INTEGER NOT NULL
            ) STRICT;
            INSERT INTO meta (key, value) VALUES ('version', 0);

            CREATE TABLE hosts (
                name     TEXT PRIMARY KEY NOT NULL,
                address  TEXT NOT NULL,
                capacity INTEGER NOT NULL,
                version  INTEGER NOT NULL
            ) STRICT;
            CREATE INDEX hosts_address ON hosts (address);

            CREATE TABLE domains (
                name    TEXT PRIMARY KEY NOT NULL,
                uuid    TEXT,
                host    TEXT NOT NULL,
                address TEXT,
                version INTEGER NOT NULL
            ) STRICT;
            CREATE INDEX domains_address ON domains (address);

            -- id doubles as the group number behind route-table ids: AUTOINCREMENT never reuses one.
            CREATE TABLE groups (
                id            INTEGER PRIMARY KEY AUTOINCREMENT,
                name          TEXT NOT NULL UNIQUE,
                address_space TEXT NOT NULL,
                protection    INTEGER NOT NULL,
                version       INTEGER NOT NULL
            ) STRICT;

            CREATE TABLE applications (
                group_id INTEGER NOT NULL REFERENCES groups (id),
                name     TEXT NOT NULL,
                address  TEXT NOT NULL UNIQUE,
                domain   TEXT NOT NULL REFERENCES domains (name),
                manifest TEXT NOT NULL,
                version  INTEGER NOT NULL,
                PRIMARY KEY (group_id, name)
            ) STRICT;
            CREATE INDEX applications_domain ON applications (domain);

            CREATE TABLE credentials (
                group_id   INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
                epoch      INTEGER NOT NULL,
                key        BLOB NOT NULL,
                created_at INTEGER NOT NULL,
                retires_at INTEGER,
                PRIMARY KEY (group_id, epoch)
            ) STRICT;
            """),
        (2, """
            -- Access policies (seed 004 R4.3). senders: canonical sender terms (PolicyText), one per line.
            -- port_first/port_last: NULL = every port. AUTOINCREMENT: a removed policy's id is never reused,
            -- so an id an agent cached cannot come to mean another policy.
            CREATE TABLE policies (
                id             INTEGER PRIMARY KEY AUTOINCREMENT,
                destination_id INTEGER NOT NULL REFERENCES groups (id),
                senders        TEXT NOT NULL,
                protocol       INTEGER NOT NULL,
                port_first     INTEGER,
                port_last      INTEGER,
                verdict        INTEGER NOT NULL,
                version        INTEGER NOT NULL
            ) STRICT;
            CREATE INDEX policies_destination ON policies (destination_id);

            -- Group nesting (R4.2): at most one parent per group; cycles are refused by the store.
            CREATE TABLE group_parents (
                group_id  INTEGER PRIMARY KEY NOT NULL REFERENCES groups (id),
                parent_id INTEGER NOT NULL REFERENCES groups (id),
                version   INTEGER NOT NULL
            ) STRICT;
            CREATE INDEX group_parents_parent ON group_parents (parent_id);
            """),
        (3, """
            -- Issue 16: the AEAD that seals a group's frames (GroupCipher: 0 ChaCha20-Poly1305, 1 AEGIS-256).
            -- Existing groups keep ChaCha20-Poly1305, the only cipher there was.
            ALTER TABLE groups ADD COLUMN cipher INTEGER NOT NULL DEFAULT 0;
            """),
    ];

    public static int Latest => Migrations[^1].Number;

    /// <summary>Applies every migration newer than the file's schema; refuses a file from a newer release.</summary>
    public static void Migrate(SqliteConnection connection, string path)
    {
        Execute(connection, null, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY NOT NULL, applied_at TEXT NOT NULL) STRICT;");
        foreach (var (number, sql) in Migrations)
        {
            using var transaction = connection.BeginTransaction();
            var current = CurrentLocked(connection, transaction);
            if (current > Latest)
            {
                throw new InvalidOperationException(
                    $"store {path}: schema version {current} is newer than this overlayd understands ({Latest}); refusing to open it");
            }

            if (number <= current)
            {
                continue;
            }

            Execute(connection, transaction, sql);
            using var record = connection.CreateCommand();
            record.Transaction = transaction;
            record.CommandText = "INSERT INTO schema_version (version, applied_at) VALUES ($v, $at)";
            record.Parameters.AddWithValue("$v", number);
            record.Parameters.AddWithValue("$at", DateTimeOffset.UtcNow.ToString("O"));
            record.ExecuteNonQuery();
            transaction.Commit();
        }
    }

    public static int Current(SqliteConnection connection) => CurrentLocked(connection, null);

    private static int CurrentLocked(SqliteConnection connection, SqliteTransaction? transaction)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT COALESCE(MAX(version), 0) FROM schema_version";
        return Convert.ToInt32(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static void Execute(SqliteConnection connection, SqliteTransaction? transaction, string sql)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
