using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using OverlayKvm.Core.Model.Validation;
using OverlayKvm.Core.Store;

namespace OverlayKvm.HostDaemon.Store;

/// <summary>
/// The embedded store (R0.1): one SQLite file, WAL, <c>synchronous=FULL</c> (a change acknowledged to a
/// caller survives power loss), foreign keys on, numbered migrations. Every write runs in one
/// <c>BEGIN IMMEDIATE</c> transaction that validates against the current state, applies the change, stamps
/// the changed rows with the next store version and bumps the <c>meta</c> version by exactly one; a write that
/// changes nothing commits nothing. Writes are serialized in-process by a lock on one long-lived connection
/// (BEGIN IMMEDIATE also serializes against other processes); reads use pooled connections and run in parallel.
/// </summary>
public sealed partial class SqliteOverlayStore : IOverlayStore
{
    private readonly string _path;
    private readonly string _localHost;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _connectionString;
    private readonly Lock _writeLock = new();
    private readonly SqliteConnection _writer;
    private bool _disposed;

    /// <param name="path">Database file; its directory is created 0700, the file 0600.</param>
    /// <param name="localHost">Host of domains created on the fly when an app names a domain nobody declared.</param>
    public SqliteOverlayStore(string path, string localHost, TimeProvider? time = null, ILogger<SqliteOverlayStore>? logger = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        NameRules.Check("host", localHost);
        _path = Path.GetFullPath(path);
        _localHost = localHost;
        _time = time ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = _path,
            Mode = SqliteOpenMode.ReadWrite,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            ForeignKeys = true,
            DefaultTimeout = 30,
        }.ToString();

        SqliteDatabaseFile.Prepare(_path);
        _writer = new SqliteConnection(_connectionString);
        try
        {
            _writer.Open();
            ConfigureWriter();
            SqliteSchema.Migrate(_writer, _path);
            SqliteDatabaseFile.Tighten(_path);
        }
        catch
        {
            SqliteConnection.ClearPool(_writer);
            _writer.Dispose();
            throw;
        }

        Log.Opened(_logger, _path, SqliteSchema.Current(_writer), CurrentVersion());
    }

    /// <inheritdoc/>
    public event Action<long>? Changed;

    /// <summary>The full path of the database file.</summary>
    public string DatabasePath => _path;

    /// <inheritdoc/>
    public long CurrentVersion()
    {
        using var connection = OpenReader();
        return ReadVersion(connection, null);
    }

    public void Dispose()
    {
        lock (_writeLock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            SqliteConnection.ClearPool(_writer);
            _writer.Dispose();
        }
    }

    private void ConfigureWriter()
    {
        using var command = _writer.CreateCommand();
        command.CommandText = "PRAGMA journal_mode=WAL;";
        var mode = command.ExecuteScalar() as string;
        if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException($"store {_path}: SQLite refused journal_mode=WAL (got '{mode}')");
        }

        // FULL: fsync the WAL at every commit, so an acknowledged define survives a crash or power loss.
        // secure_delete: a deleted or retired group key is overwritten with zeros in the page, not left in a free
        // block of the file for anyone who later reads a copy of it (issue 14 item 10). Only this connection writes.
        command.CommandText = "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=10000; PRAGMA secure_delete=ON;";
        command.ExecuteNonQuery();
    }

    private SqliteConnection OpenReader()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        return connection;
    }

    private static long ReadVersion(SqliteConnection connection, SqliteTransaction? transaction)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT value FROM meta WHERE key = 'version'";
        return (long)command.ExecuteScalar()!;
    }

    /// <summary>
    /// Runs <paramref name="body"/> in one BEGIN IMMEDIATE transaction. The body validates and writes through the
    /// scope, calling <see cref="WriteScope.MarkChanged"/> when it changed something; then the meta version is
    /// bumped by one, the transaction committed and <see cref="Changed"/> raised (still under the write lock,
    /// so handlers see versions in order). Any exception rolls everything back: nothing is half-written.
    /// </summary>
    private T Write<T>(Func<WriteScope, T> body)
    {
        long committed;
        T result;
        lock (_writeLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            using (var transaction = _writer.BeginTransaction(deferred: false))
            {
                var version = ReadVersion(_writer, transaction) + 1;
                var now = DateTimeOffset.FromUnixTimeMilliseconds(_time.GetUtcNow().ToUnixTimeMilliseconds());
                var scope = new WriteScope(_writer, transaction, version, now, _localHost);
                result = body(scope);
                if (!scope.HasChanged)
                {
                    transaction.Rollback();
                    return result;
                }

                using (var bump = scope.Command("UPDATE meta SET value = $v WHERE key = 'version'"))
                {
                    bump.Parameters.AddWithValue("$v", version);
                    bump.ExecuteNonQuery();
                }

                transaction.Commit();
                committed = version;
            }

            RaiseChanged(committed);
        }

        return result;
    }

    private void RaiseChanged(long version)
    {
        var handlers = Changed;
        if (handlers is null)
        {
            return;
        }

        // The change is committed: a failing subscriber must neither undo it nor keep the others from hearing of it.
        foreach (var handler in handlers.GetInvocationList())
        {
            try
            {
                ((Action<long>)handler)(version);
            }
            catch (Exception e)
            {
                Log.ChangedHandlerFailed(_logger, version, e);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Store {Path} open: schema {Schema}, version {Version}")]
        public static partial void Opened(ILogger logger, string path, int schema, long version);

        [LoggerMessage(EventId = 2, Level = LogLevel.Error, Message = "A Changed handler failed for store version {Version}")]
        public static partial void ChangedHandlerFailed(ILogger logger, long version, Exception exception);
    }
}
