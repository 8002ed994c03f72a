using System.Security.Cryptography;
using Etcdserverpb;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using OverlayKvm.Core.Model.Validation;
using OverlayKvm.Core.Store;

namespace OverlayKvm.HostDaemon.Store.Etcd;

/// <summary>
/// The cluster store (issue 11): the same contract as <see cref="SqliteOverlayStore"/>, on etcd v3. Reads come
/// from <see cref="EtcdStoreMirror"/> (a watched local copy). Every write validates against the copy, then
/// commits as one Txn that compares the mod revision of <c>meta/version</c> with the one it read and writes the
/// changed records plus <c>meta/version</c> + 1: two writers anywhere in the cluster can never both commit on
/// the same state, so validation and address allocation are as serial as SQLite's BEGIN IMMEDIATE. A losing
/// Txn gets the current state back in the same round trip and retries (bounded, jittered). Writes of this
/// process are serialized by a lock, like SQLite's, so it never races itself.
/// </summary>
public sealed partial class EtcdOverlayStore : IOverlayStore, IStoreFreshness
{
    private const int MaxAttempts = 64;
    private const string CanaryText = "overlaykvm cluster key canary v1";

    private readonly EtcdConnection _connection;
    private readonly EtcdRecordCodec _codec;
    private readonly EtcdStoreMirror _mirror;
    private readonly string _localHost;
    private readonly TimeProvider _time;
    private readonly Lock _writeLock = new();
    private readonly ILogger _logger;
    private bool _disposed;

    /// <param name="localHost">Host of domains created on the fly when an app names a domain nobody declared.</param>
    /// <exception cref="StoreUnavailableException">etcd does not answer.</exception>
    /// <exception cref="InvalidOperationException">The cluster key does not open the store's secrets (one line).</exception>
    public EtcdOverlayStore(EtcdStoreOptions options, string localHost, TimeProvider? time = null, ILogger<EtcdOverlayStore>? logger = null)
        : this(options, LoadSealer(options), localHost, time, logger)
    {
    }

    internal EtcdOverlayStore(EtcdStoreOptions options, SecretSealer sealer, string localHost, TimeProvider? time = null, ILogger<EtcdOverlayStore>? logger = null)
    {
        NameRules.Check("host", localHost);
        _localHost = localHost;
        _time = time ?? TimeProvider.System;
        ILogger log = _logger = (ILogger?)logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        _codec = new EtcdRecordCodec(new EtcdKeys(options.Prefix), sealer);
        _connection = new EtcdConnection(options);
        try
        {
            Initialize();
            _mirror = new EtcdStoreMirror(_connection, _codec, options.ProbeInterval, log);
            _mirror.Changed += RaiseChanged;
            _mirror.Start();
            ResealWithCurrentKey();
        }
        catch
        {
            _mirror?.Dispose();
            _connection.Dispose();
            throw;
        }

        Log.Opened(log, options.Endpoints, _codec.Keys.Prefix, _mirror.Model.Version, _mirror.Revision);
    }

    /// <inheritdoc/>
    public event Action<long>? Changed;

    /// <inheritdoc/>
    public string? StaleReason => _mirror.StaleReason;

    /// <summary>The watched local copy (its revision, resync count) for the cluster's own watchers and tests.</summary>
    internal EtcdStoreMirror Mirror => _mirror;

    /// <inheritdoc/>
    public long CurrentVersion() => Model.Version;

    public void Dispose()
    {
        lock (_writeLock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _mirror.Dispose();
            _connection.Dispose();
        }
    }

    private EtcdStoreModel Model
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _mirror.Model;
        }
    }

    private static SecretSealer LoadSealer(EtcdStoreOptions options) => new(
        ClusterKey.Load(options.ClusterKey),
        string.IsNullOrEmpty(options.ClusterKeyPrevious) ? null : ClusterKey.Load(options.ClusterKeyPrevious));

    /// <summary>
    /// Creates meta/version and the canary if this is a new cluster (one Txn: both or neither), then checks that
    /// the canary opens with this daemon's cluster key: a daemon with the wrong key must not start and then
    /// fail on the first group key it reads, or worse, seal new keys others cannot open.
    /// </summary>
    private void Initialize()
    {
        var keys = _codec.Keys;
        var txn = new TxnRequest();
        txn.Compare.Add(new Compare
        {
            Key = ByteString.CopyFromUtf8(keys.Version),
            Target = Compare.Types.CompareTarget.Create,
            Result = Compare.Types.CompareResult.Equal,
            CreateRevision = 0,
        });
        txn.Success.Add(Put(keys.Version, EtcdRecordCodec.Encode(EtcdStoreModel.Empty.Meta)));
        txn.Success.Add(Put(keys.Canary, _codec.Sealer.Seal(keys.Canary, System.Text.Encoding.UTF8.GetBytes(CanaryText))));
        txn.Failure.Add(new RequestOp { RequestRange = new RangeRequest { Key = ByteString.CopyFromUtf8(keys.Canary) } });
        var response = _connection.Call("initialise", (client, deadline) => client.Transaction(txn, deadline: deadline));
        if (response.Succeeded)
        {
            return;
        }

        var found = response.Responses[0].ResponseRange.Kvs;
        if (found.Count == 0)
        {
            throw new InvalidOperationException($"etcd prefix {keys.Prefix} holds a store without a cluster-key canary ({keys.Canary}); it was not made by this overlayd");
        }

        var sealedBy = SecretSealer.SealedBy(found[0].Value.Span);
        try
        {
            _codec.Sealer.Open(keys.Canary, found[0].Value.Span);
        }
        catch (CryptographicException) when (sealedBy != _codec.Sealer.Current.Id && sealedBy != _codec.Sealer.Previous?.Id)
        {
            throw new InvalidOperationException(
                $"wrong cluster key: the store under {keys.Prefix} was sealed with cluster key id {sealedBy}, this daemon has {_codec.Sealer.Describe()}; " +
                "give every overlayd of the cluster the same --cluster-key (and the old one as --cluster-key-previous while rotating)");
        }
        catch (CryptographicException e)
        {
            throw new InvalidOperationException($"cluster key canary {keys.Canary} does not open with cluster key id {sealedBy}: the value was altered ({e.Message})");
        }
    }

    /// <summary>
    /// During a cluster-key rotation: re-seals every value the previous key sealed with the current one (no
    /// store version change: the records are the same). Each value is compared on its mod revision, so a
    /// concurrent write wins and the next start (or another daemon) finishes the pass.
    /// </summary>
    private void ResealWithCurrentKey()
    {
        if (_codec.Sealer.Previous is not { } previous)
        {
            return;
        }

        var keys = _codec.Keys;
        var response = _connection.Call("range read for re-seal", (client, deadline) =>
            client.Get(new RangeRequest { Key = ByteString.CopyFromUtf8(keys.Prefix + "keys/"), RangeEnd = ByteString.CopyFromUtf8(keys.Prefix + "keys0") }, deadline: deadline));
        var candidates = new List<Mvccpb.KeyValue>(response.Kvs);
        var canary = _connection.Call("canary read", (client, deadline) => client.Get(new RangeRequest { Key = ByteString.CopyFromUtf8(keys.Canary) }, deadline: deadline));
        candidates.AddRange(canary.Kvs);
        foreach (var kv in candidates)
        {
            if (SecretSealer.SealedBy(kv.Value.Span) != previous.Id)
            {
                continue;
            }

            var name = kv.Key.ToStringUtf8();
            var plain = _codec.Sealer.Open(name, kv.Value.Span);
            var txn = new TxnRequest();
            txn.Compare.Add(new Compare { Key = kv.Key, Target = Compare.Types.CompareTarget.Mod, Result = Compare.Types.CompareResult.Equal, ModRevision = kv.ModRevision });
            txn.Success.Add(Put(name, _codec.Sealer.Seal(name, plain)));
            Array.Clear(plain);
            _connection.Call("re-seal", (client, deadline) => client.Transaction(txn, deadline: deadline));
        }
    }

    /// <summary>
    /// Runs <paramref name="body"/> against the current copy and commits its changes in one Txn guarded by
    /// meta/version's mod revision; on a lost race, retries on the state the failed Txn returned. A body that
    /// changes nothing commits nothing. Refusals (<see cref="ModelValidationException"/>...) propagate untouched.
    /// </summary>
    private T Write<T>(Func<EtcdWriteScope, T> body)
    {
        lock (_writeLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            for (var attempt = 1; ; attempt++)
            {
                if (attempt > MaxAttempts)
                {
                    throw new StoreUnavailableException($"store unavailable: etcd write lost {MaxAttempts} races in a row to other writers; try again");
                }

                var now = DateTimeOffset.FromUnixTimeMilliseconds(_time.GetUtcNow().ToUnixTimeMilliseconds());
                var scope = new EtcdWriteScope(_mirror.Model, _codec, now, _localHost);
                T result;
                try
                {
                    result = body(scope);
                }
                catch (Exception e) when (e is ModelValidationException or EntityNotFoundException && !IsCurrent(scope))
                {
                    // Refused on a copy that was behind (another daemon just defined the group...): retry on the current state.
                    continue;
                }

                if (!scope.HasChanged)
                {
                    // "Nothing to change" is only true if the copy was current; otherwise decide again on the current state.
                    if (IsCurrent(scope))
                    {
                        return result;
                    }

                    continue;
                }

                var response = Transact("write", BuildTxn(scope));

                if (response.Succeeded)
                {
                    var committed = scope.Model with { Meta = scope.Model.Meta with { Version = scope.Version } };
                    _mirror.ApplyCommitted(committed, response.Header.Revision);
                    return result;
                }

                // Another writer committed first: its state came back with the refusal; retry on it.
                _mirror.Reset(response.Responses[0].ResponseRange.Kvs, response.Header.Revision);

                // Jitter so that daemons which lost together do not collide again in lock step.
                Thread.Sleep(Random.Shared.Next(0, Math.Min(50, 2 * attempt)));
            }
        }
    }

    /// <summary>
    /// A compare-only Txn: true when meta/version is still at the revision the scope read, i.e. an answer
    /// reached without writing (a refusal, "unchanged") holds for the current state. Otherwise the current
    /// state, which came back with the answer, replaces the copy.
    /// </summary>
    private bool IsCurrent(EtcdWriteScope scope)
    {
        var response = Transact("check", VersionGuardedTxn(scope));

        if (!response.Succeeded)
        {
            _mirror.Reset(response.Responses[0].ResponseRange.Kvs, response.Header.Revision);
        }

        return response.Succeeded;
    }

    /// <summary>
    /// One Txn of a write or its check. An unreachable cluster is first marked on the mirror, so reads say they are
    /// stale at once instead of serving the last copy as current; then the failure goes to the caller.
    /// </summary>
    private TxnResponse Transact(string operation, TxnRequest txn)
    {
        try
        {
            return _connection.Call(operation, (client, deadline) => client.Transaction(txn, deadline: deadline));
        }
        catch (StoreUnavailableException e)
        {
            _mirror.MarkUnreachable(e);
            throw;
        }
    }

    private TxnRequest BuildTxn(EtcdWriteScope scope)
    {
        var keys = _codec.Keys;
        var txn = VersionGuardedTxn(scope);
        foreach (var (key, value) in scope.Operations)
        {
            txn.Success.Add(value is null
                ? new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = ByteString.CopyFromUtf8(key) } }
                : Put(key, value));
        }

        txn.Success.Add(Put(keys.Version, scope.CommittedMeta()));
        return txn;
    }

    /// <summary>
    /// The shape of every Txn of this store: it holds only if meta/version is still at the revision the scope read;
    /// if not, it reads the whole prefix back, so the losing side learns the current state in the same round trip.
    /// </summary>
    private TxnRequest VersionGuardedTxn(EtcdWriteScope scope)
    {
        var keys = _codec.Keys;
        var txn = new TxnRequest();
        txn.Compare.Add(new Compare
        {
            Key = ByteString.CopyFromUtf8(keys.Version),
            Target = Compare.Types.CompareTarget.Mod,
            Result = Compare.Types.CompareResult.Equal,
            ModRevision = scope.ReadMetaRevision,
        });
        txn.Failure.Add(new RequestOp { RequestRange = new RangeRequest { Key = ByteString.CopyFromUtf8(keys.Prefix), RangeEnd = ByteString.CopyFromUtf8(keys.RangeEnd) } });
        return txn;
    }

    /// <summary>A change is committed whoever made it: one failing subscriber must not keep the others from hearing of it.</summary>
    private void RaiseChanged(long version)
    {
        if (Changed is not { } handlers)
        {
            return;
        }

        foreach (var handler in handlers.GetInvocationList())
        {
            try
            {
                ((Action<long>)handler)(version);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                Log.ChangedHandlerFailed(_logger, version, e);
            }
        }
    }

    private static RequestOp Put(string key, byte[] value) =>
        new() { RequestPut = new PutRequest { Key = ByteString.CopyFromUtf8(key), Value = ByteString.CopyFrom(value) } };

    private static partial class Log
    {
        [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Store on etcd {Endpoints} under {Prefix}: version {Version} at revision {Revision}")]
        public static partial void Opened(ILogger logger, string endpoints, string prefix, long version, long revision);

        [LoggerMessage(EventId = 2, Level = LogLevel.Error, Message = "A Changed handler failed for store version {Version}")]
        public static partial void ChangedHandlerFailed(ILogger logger, long version, Exception exception);
    }
}
