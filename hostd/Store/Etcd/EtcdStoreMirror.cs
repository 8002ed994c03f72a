using Etcdserverpb;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Mvccpb;
using OverlayKvm.Core.Store;

namespace OverlayKvm.HostDaemon.Store.Etcd;

/// <summary>
/// This daemon's copy of the store, kept current by an etcd watch, so reads never wait for etcd and every
/// daemon hears of every change wherever it was made (<see cref="Changed"/> drives the configuration pushes).
/// <list type="number">
/// <item>Start: one range read of the prefix at revision R builds the model; the watch starts at R + 1.</item>
/// <item>Events at or below the applied revision are skipped (a resumed watch may replay some); the rest are
/// applied in revision order. A disconnected watch resumes from the revision it last delivered.</item>
/// <item>Compaction (the resume point is gone) or a lag the probe notices → full resync: a new range read
/// and a new watch from its revision. No change is lost either way: the range read holds them all.</item>
/// <item>A probe reads meta/version every <see cref="EtcdStoreOptions.ProbeInterval"/> (linearizable, so it
/// fails without quorum): while it fails, <see cref="StaleReason"/> says reads may be stale.</item>
/// </list>
/// </summary>
internal sealed partial class EtcdStoreMirror : IDisposable
{
    // The probe sees etcd ahead of the mirror this many times in a row → the watch missed something: resync.
    private const int LagProbesBeforeResync = 3;

    private readonly EtcdConnection _connection;
    private readonly EtcdRecordCodec _codec;
    private readonly ILogger _logger;
    private readonly TimeSpan _probeInterval;
    private readonly Lock _lock = new();
    private readonly CancellationTokenSource _stop = new();
    private EtcdStoreModel _model = EtcdStoreModel.Empty;
    private long _revision;
    private long _raisedVersion;
    private long _watchId = -1;
    private string? _staleReason;
    private int _lagProbes;
    private int _resyncing;
    private Task? _probeLoop;

    public EtcdStoreMirror(EtcdConnection connection, EtcdRecordCodec codec, TimeSpan probeInterval, ILogger logger)
    {
        _connection = connection;
        _codec = codec;
        _probeInterval = probeInterval;
        _logger = logger;
    }

    /// <summary>Raised once per new store version, in order, whoever wrote it. Handlers must not block.</summary>
    public event Action<long>? Changed;

    public EtcdStoreModel Model => Volatile.Read(ref _model);

    /// <summary>The etcd revision the model reflects.</summary>
    public long Revision
    {
        get
        {
            lock (_lock)
            {
                return _revision;
            }
        }
    }

    public string? StaleReason => Volatile.Read(ref _staleReason);

    /// <summary>Full count of resyncs since start (tests watch it to see compaction handled).</summary>
    public int Resyncs { get; private set; }

    /// <summary>Loads the model and starts the watch and the probe. Throws <see cref="StoreUnavailableException"/> when etcd does not answer.</summary>
    public void Start()
    {
        Resync();
        _probeLoop = Task.Run(ProbeLoopAsync);
    }

    /// <summary>A range read of the whole prefix replaces the model; the watch restarts after its revision.</summary>
    public void Resync()
    {
        var response = _connection.Call("range read", (client, deadline) =>
            client.Get(new RangeRequest { Key = ByteString.CopyFromUtf8(_codec.Keys.Prefix), RangeEnd = ByteString.CopyFromUtf8(_codec.Keys.RangeEnd) }, deadline: deadline));
        Reset(response.Kvs, response.Header.Revision);
        RestartWatch();
        Resyncs++;
    }

    /// <summary>Replaces the model with the state <paramref name="kvs"/> held at <paramref name="revision"/> (a resync, or a failed Txn's read).</summary>
    public void Reset(IEnumerable<KeyValue> kvs, long revision)
    {
        var model = EtcdStoreModel.Empty;
        foreach (var kv in kvs)
        {
            model = model.Apply(_codec, kv.Key.ToStringUtf8(), kv.Value.Span, deleted: false, kv.ModRevision);
        }

        lock (_lock)
        {
            if (revision < _revision)
            {
                return;
            }

            _revision = revision;
            Publish(model);
        }
    }

    /// <summary>A Txn of this daemon committed at <paramref name="revision"/>: serve its result at once (read your writes).</summary>
    public void ApplyCommitted(EtcdStoreModel model, long revision)
    {
        lock (_lock)
        {
            // The Txn compared meta/version's revision: nothing of the store's changed between the model it
            // started from and this revision, so the model is the full state at it.
            if (revision <= _revision)
            {
                return;
            }

            _revision = revision;
            Publish(model with { MetaModRevision = revision });
        }
    }

    /// <summary>A write or the probe learned that etcd could not be reached: reads are stale until the probe succeeds again.</summary>
    /// <returns>True when this is news (the copy was considered current until now).</returns>
    public bool MarkUnreachable(StoreUnavailableException e)
    {
        const string Lead = "store unavailable: ";
        var detail = e.Message.StartsWith(Lead, StringComparison.Ordinal) ? e.Message[Lead.Length..] : e.Message;
        return Interlocked.CompareExchange(ref _staleReason, $"etcd unreachable since {DateTimeOffset.UtcNow:HH:mm:ss}Z ({detail})", null) is null;
    }

    public void Dispose()
    {
        _stop.Cancel();
        CancelWatch();
        try
        {
            _probeLoop?.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
            // The loop ends by cancellation; nothing to report at disposal.
        }

        _stop.Dispose();
    }

    private void RestartWatch()
    {
        long from;
        lock (_lock)
        {
            from = _revision + 1;
        }

        WatchFrom(from);
    }

    /// <summary>(Re)starts the watch at <paramref name="from"/>. Tests call it with a compacted revision, as a daemon resuming after a long disconnect would.</summary>
    internal void WatchFrom(long from)
    {
        CancelWatch();

        var request = new WatchRequest
        {
            CreateRequest = new WatchCreateRequest
            {
                Key = ByteString.CopyFromUtf8(_codec.Keys.Prefix),
                RangeEnd = ByteString.CopyFromUtf8(_codec.Keys.RangeEnd),
                StartRevision = from,
                ProgressNotify = true,
            },
        };
        _watchId = _connection.CallAsync("watch", (client, deadline) => client.WatchAsync(request, OnWatchResponse, deadline: null, cancellationToken: _stop.Token))
            .GetAwaiter().GetResult();
    }

    private void CancelWatch()
    {
        if (_watchId >= 0)
        {
            try
            {
                _connection.Client.CancelWatch(_watchId);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                Log.WatchCancelFailed(_logger, _watchId, e);
            }

            _watchId = -1;
        }
    }

    private void OnWatchResponse(WatchResponse response)
    {
        try
        {
            if (response.CompactRevision > 0 || response.Canceled)
            {
                // The revision to resume from was compacted away: only a full read can bring the model back.
                Log.WatchCompacted(_logger, response.CompactRevision);
                ScheduleResync();
                return;
            }

            lock (_lock)
            {
                var floor = _revision;
                var model = _model;
                var last = floor;
                foreach (var e in response.Events)
                {
                    var revision = e.Kv.ModRevision;
                    if (revision <= floor)
                    {
                        continue;
                    }

                    model = model.Apply(_codec, e.Kv.Key.ToStringUtf8(), e.Kv.Value.Span, e.Type == Event.Types.EventType.Delete, revision);
                    last = Math.Max(last, revision);
                }

                if (last > floor)
                {
                    _revision = last;
                    Publish(model);
                }
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Log.WatchApplyFailed(_logger, e);
            ScheduleResync();
        }
    }

    private void ScheduleResync()
    {
        if (Interlocked.Exchange(ref _resyncing, 1) == 1)
        {
            return;
        }

        _ = Task.Run(() =>
        {
            try
            {
                Resync();
            }
            catch (StoreUnavailableException e)
            {
                // The probe keeps trying: the next lag it sees schedules another resync.
                Log.ResyncFailed(_logger, e.Message);
            }
            finally
            {
                Volatile.Write(ref _resyncing, 0);
            }
        });
    }

    private async Task ProbeLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_probeInterval, _stop.Token).ConfigureAwait(false);
                var response = await _connection.CallAsync("probe", (client, deadline) =>
                    client.GetAsync(new RangeRequest { Key = ByteString.CopyFromUtf8(_codec.Keys.Version) }, deadline: deadline, cancellationToken: _stop.Token)).ConfigureAwait(false);
                if (Interlocked.Exchange(ref _staleReason, null) is { } was)
                {
                    Log.Reachable(_logger, was);
                }

                var remote = response.Kvs.Count == 0 ? 0 : EtcdRecordCodec.DecodeMeta(response.Kvs[0].Value.Span).Version;
                _lagProbes = remote > Model.Version ? _lagProbes + 1 : 0;
                if (_lagProbes >= LagProbesBeforeResync)
                {
                    Log.Lagging(_logger, Model.Version, remote);
                    _lagProbes = 0;
                    ScheduleResync();
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (StoreUnavailableException e)
            {
                if (MarkUnreachable(e))
                {
                    Log.Unreachable(_logger, e.Message);
                }
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                Log.ProbeFailed(_logger, e);
            }
        }
    }

    /// <summary>Under <see cref="_lock"/>: swaps the model in and raises <see cref="Changed"/> if the version rose.</summary>
    private void Publish(EtcdStoreModel model)
    {
        Volatile.Write(ref _model, model);
        if (model.Version <= _raisedVersion)
        {
            return;
        }

        _raisedVersion = model.Version;
        var handlers = Changed;
        if (handlers is null)
        {
            return;
        }

        foreach (var handler in handlers.GetInvocationList())
        {
            try
            {
                ((Action<long>)handler)(model.Version);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                Log.ChangedHandlerFailed(_logger, model.Version, e);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1, Level = LogLevel.Warning, Message = "etcd watch: revision compacted (compact revision {Revision}); resynchronising fully")]
        public static partial void WatchCompacted(ILogger logger, long revision);

        [LoggerMessage(EventId = 2, Level = LogLevel.Error, Message = "etcd watch: could not apply an event; resynchronising fully")]
        public static partial void WatchApplyFailed(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "etcd resync failed, will retry: {Reason}")]
        public static partial void ResyncFailed(ILogger logger, string reason);

        [LoggerMessage(EventId = 4, Level = LogLevel.Warning, Message = "etcd unreachable, serving reads from the local copy (may be stale): {Reason}")]
        public static partial void Unreachable(ILogger logger, string reason);

        [LoggerMessage(EventId = 5, Level = LogLevel.Information, Message = "etcd reachable again (was: {Was})")]
        public static partial void Reachable(ILogger logger, string was);

        [LoggerMessage(EventId = 6, Level = LogLevel.Warning, Message = "etcd store version {Remote} is ahead of the local copy ({Local}) for several probes; resynchronising fully")]
        public static partial void Lagging(ILogger logger, long local, long remote);

        [LoggerMessage(EventId = 7, Level = LogLevel.Error, Message = "etcd probe failed unexpectedly")]
        public static partial void ProbeFailed(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 8, Level = LogLevel.Error, Message = "A Changed handler failed for store version {Version}")]
        public static partial void ChangedHandlerFailed(ILogger logger, long version, Exception exception);

        [LoggerMessage(EventId = 9, Level = LogLevel.Debug, Message = "etcd watch {WatchId}: cancel failed")]
        public static partial void WatchCancelFailed(ILogger logger, long watchId, Exception exception);
    }
}
