using System.Collections.Concurrent;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using OverlayKvm.Core.Channel;
using OverlayKvm.Core.Config;
using OverlayKvm.HostDaemon.Engine;

namespace OverlayKvm.HostDaemon.Channel;

/// <summary>
/// overlayd's end of one domain's host channel (docs/host-channel.md). libvirt/QEMU binds the channel's unix
/// socket; this client connects to it, says hello, pushes the domain's current configuration document, and
/// pushes again whenever <see cref="NotifyChanged"/> is called (the store's change signal). It reconnects with
/// back-off while the domain runs. The channel is per domain, so what the agent says (app started/stopped) is
/// attributed to this domain without trusting the agent's claims. Hostile input from the guest (oversized,
/// unknown, unparsable messages) is answered with an error and counted, never fatal to the daemon.
/// Engine "hypercalls" (register, query, deregister, heartbeat) go to the <see cref="EngineRegistry"/> with this
/// client's domain, and the registry's directory changes of the groups this domain registered in are pushed to it.
/// A guest that stops reading costs a bounded amount (issue 14 item 8): every write has a timeout after which the
/// channel is dropped and reconnected; configuration pushes and directory pushes each keep one pending slot holding
/// the latest version (no task per change); guest-supplied strings are truncated and the warnings they cause are
/// rate-limited; engine requests have a per-domain budget (<see cref="GuestBudget"/>).
/// </summary>
internal sealed partial class DomainChannelClient : IAsyncDisposable
{
    private readonly string _domain;
    private readonly string _socketPath;
    private readonly Func<DomainConfigDocument> _document;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _changed = new(0, 1);
    private readonly SemaphoreSlim _directorySignal = new(0, 1);
    // group → latest directory version not yet pushed: a burst of changes is one write per group.
    private readonly ConcurrentDictionary<string, ulong> _pendingDirectory = new(StringComparer.Ordinal);
    private readonly GuestBudget _budget = new();
    private readonly TimeSpan _writeTimeout;
    private long _writeTimeouts;
    private readonly CancellationTokenSource _stop = new();
    private Task? _run;
    private long _pushed = -1;
    // A key epoch that retires drops out of the document without a store change: same version, new digest.
    private string? _pushedDigest;
    private long _acknowledged = -1;
    private string? _oversizedDigest;
    private long _oversized;
    private long _rejected;
    private readonly EngineRegistry? _engine;
    private readonly EngineHypercallDispatcher? _hypercalls;
    private ChannelConnection? _connection;
    private readonly AgentCounterQueries _counterQueries;
    private readonly AgentEngineLeaves _engineLeaves;
    // Set while this host unplugs (or has unplugged) the domain's regions for a migration: no join on reconnect.
    private volatile bool _leavingEngine;
    private long _joinIds;
    private readonly ChannelPeerCheck? _peerCheck;
    private long _refusedPeers;
    private PeerCredentials? _lastRefusedPeer;

    /// <summary>How long one message may wait for the guest to read it before the channel is dropped.</summary>
    public static readonly TimeSpan DefaultWriteTimeout = TimeSpan.FromSeconds(10);

    /// <summary>How long an agent gets to confirm a leave: it waits out its attachments' 5 s retire grace first.</summary>
    public static readonly TimeSpan DefaultEngineLeaveTimeout = TimeSpan.FromSeconds(15);

    public DomainChannelClient(string domain, string socketPath, Func<DomainConfigDocument> document, ILogger logger, TimeProvider? time = null,
        EngineRegistry? engine = null, TimeSpan? writeTimeout = null, ChannelPeerCheck? peerCheck = null)
    {
        _peerCheck = peerCheck;
        _writeTimeout = writeTimeout ?? DefaultWriteTimeout;
        if (engine is not null)
        {
            _engine = engine;
            _hypercalls = new EngineHypercallDispatcher(domain, engine, _budget);
            engine.DirectoryChanged += OnDirectoryChanged;
        }
        _domain = domain;
        _counterQueries = new AgentCounterQueries(domain);
        _engineLeaves = new AgentEngineLeaves(domain);
        _socketPath = socketPath;
        _document = document;
        _logger = logger;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Raised for every app start/stop the agent reports (domain, event, started?).</summary>
    public event Action<string, AppEventMessage, bool>? AppEvent;

    /// <summary>Raised when the agent acknowledges (or refuses) a document.</summary>
    public event Action<string, ConfigAckMessage>? Acknowledged;

    /// <summary>Version last acknowledged as applied by the agent; -1 before any.</summary>
    public long AcknowledgedVersion => Interlocked.Read(ref _acknowledged);

    /// <summary>Messages from the guest that were refused (unknown type, bad payload, oversized).</summary>
    public long RejectedMessages => Interlocked.Read(ref _rejected);

    public bool Connected { get; private set; }

    /// <summary>Connections dropped unserved because the process listening on the socket is not vouched for (<see cref="ChannelPeerCheck"/>).</summary>
    public long RefusedPeers => Interlocked.Read(ref _refusedPeers);

    /// <summary>Documents not pushed because they exceed what the channel carries (<see cref="ChannelProtocol.MaxHostMessageSize"/>).</summary>
    public long OversizedDocuments => Interlocked.Read(ref _oversized);

    /// <summary>Channels dropped because the guest did not read a message within the write timeout.</summary>
    public long WriteTimeouts => Interlocked.Read(ref _writeTimeouts);

    /// <summary>This domain's request and log budget (what it throttled and suppressed).</summary>
    internal GuestBudget Budget => _budget;

    /// <summary>Asks the agent for its counters (R0.10); throws <see cref="AgentUnavailableException"/> when it cannot answer.</summary>
    public Task<Core.Api.AgentCounters> QueryCountersAsync(TimeSpan timeout, CancellationToken cancellationToken) =>
        _counterQueries.AskAsync(Volatile.Read(ref _connection), timeout, cancellationToken);

    /// <summary>
    /// Asks the agent to unmap the engine regions before they are unplugged (docs/migration.md); from now on no join
    /// is sent until <see cref="JoinEngineAsync"/>. Throws <see cref="AgentUnavailableException"/> when the agent does
    /// not confirm (not connected, no reply in time, an agent that does not know the message answers unknown-type).
    /// </summary>
    public Task<EngineLeaveReply> LeaveEngineAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        _leavingEngine = true;
        // Free the slots as soon as the request is out: peers are told at once (directory change) and stop writing
        // into rings this agent no longer reads while it waits out its grace. A registration already in flight may
        // take a slot again: the caller frees them once more after the reply.
        return _engineLeaves.AskAsync(Volatile.Read(ref _connection), timeout, cancellationToken, () => _engine?.RemoveDomain(_domain));
    }

    /// <summary>
    /// This host's regions are plugged into the domain: tells the agent to attach (again), now if connected, and at
    /// every later connection. False when no agent is connected right now (it is told when it connects).
    /// </summary>
    public async Task<bool> JoinEngineAsync(CancellationToken cancellationToken)
    {
        _leavingEngine = false;
        ChannelConnection? connection = Volatile.Read(ref _connection);
        if (connection is null)
        {
            return false;
        }
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_writeTimeout);
        try
        {
            await connection.WriteJsonAsync(ChannelMessageType.EngineJoin, new EngineJoinNotice(Interlocked.Increment(ref _joinIds)),
                ChannelJsonContext.Default.EngineJoinNotice, deadline.Token).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException)
        {
            // The channel is going: the next connection says join (the flag is clear).
            return false;
        }
    }

    public void Start() => _run ??= Task.Run(() => RunAsync(_stop.Token));

    /// <summary>The domain's document changed: push the new version (coalesces bursts of changes).</summary>
    public void NotifyChanged()
    {
        try
        {
            _changed.Release();
        }
        catch (SemaphoreFullException)
        {
            // A push is already pending; it will read the newest document.
        }
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var delay = TimeSpan.FromMilliseconds(100);
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(_socketPath), cancellationToken).ConfigureAwait(false);
                if (_peerCheck?.Refusal(socket, _domain, _socketPath, out PeerCredentials peer) is { } refusal)
                {
                    // Nothing is written to an unvouched listener; the real one may take the path later: keep trying.
                    RefusePeer(peer, refusal);
                }
                else
                {
                    delay = TimeSpan.FromMilliseconds(100);
                    // The guest's messages are small (1 MiB at most); the documents we send may be large (16 MiB).
                    await using var connection = new ChannelConnection(new NetworkStream(socket, ownsSocket: false),
                        ChannelProtocol.DefaultMaxMessageSize, ChannelProtocol.MaxHostMessageSize);
                    Connected = true;
                    Log.Connected(_logger, _domain, _socketPath);
                    await ServeAsync(connection, cancellationToken).ConfigureAwait(false);
                    Log.Disconnected(_logger, _domain, "the other end closed the channel");
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is IOException or SocketException)
            {
                Log.Disconnected(_logger, _domain, ex.Message);
            }
            if (Connected)
            {
                ReleaseEngineSlots();
            }
            Connected = false;
            Interlocked.Exchange(ref _pushed, -1);
            Volatile.Write(ref _pushedDigest, null);
            try
            {
                await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 5000));
        }
    }

    private async Task ServeAsync(ChannelConnection connection, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var session = new Session(this, connection, cts);
        Task pusher = Task.CompletedTask, directoryPusher = Task.CompletedTask;
        try
        {
            await session.WriteJsonAsync(ChannelMessageType.Hello, new HelloMessage(ChannelProtocol.Version, "host", "overlayd 1"),
                ChannelJsonContext.Default.HelloMessage).ConfigureAwait(false);
            await PushAsync(session).ConfigureAwait(false);
            if (!_leavingEngine)
            {
                // An agent that left the engine on its former host (live migration) attaches again only when told: this
                // host's regions are, or will be, plugged in (an agent that never left treats it as a nudge to register).
                await session.WriteJsonAsync(ChannelMessageType.EngineJoin, new EngineJoinNotice(Interlocked.Increment(ref _joinIds)),
                    ChannelJsonContext.Default.EngineJoinNotice).ConfigureAwait(false);
            }
            pusher = PushOnChangeAsync(session);
            directoryPusher = PushDirectoryOnChangeAsync(session);
            Volatile.Write(ref _connection, connection);
            await connection.ReadAllAsync((message, _) => HandleAsync(session, message), cts.Token).ConfigureAwait(false);
        }
        catch (ChannelProtocolException ex)
        {
            Interlocked.Increment(ref _rejected);
            Warn(w => Log.Violation(_logger, _domain, GuestText.Bounded(ex.Message), w));
            throw new IOException(ex.Message, ex);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Only a write timeout cancels the session while overlayd runs.
            throw new IOException(session.TimeoutReason ?? "the channel session was cancelled");
        }
        finally
        {
            Volatile.Write(ref _connection, null);
            await cts.CancelAsync().ConfigureAwait(false);
            foreach (Task background in new[] { pusher, directoryPusher })
            {
                try
                {
                    await background.ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException)
                {
                    // The session ended; its pushers end with it.
                }
            }
        }
    }

    private async Task PushOnChangeAsync(Session session)
    {
        while (true)
        {
            await _changed.WaitAsync(session.Token).ConfigureAwait(false);
            await PushAsync(session).ConfigureAwait(false);
        }
    }

    private async Task PushDirectoryOnChangeAsync(Session session)
    {
        while (true)
        {
            await _directorySignal.WaitAsync(session.Token).ConfigureAwait(false);
            foreach (string group in _pendingDirectory.Keys)
            {
                if (_pendingDirectory.TryRemove(group, out ulong version))
                {
                    await session.WriteJsonAsync(ChannelMessageType.EngineDirectoryChanged, new EngineDirectoryChangedMessage(group, version),
                        ChannelJsonContext.Default.EngineDirectoryChangedMessage).ConfigureAwait(false);
                }
            }
        }
    }

    private async Task PushAsync(Session session)
    {
        DomainConfigDocument doc = _document();
        if (doc.Version == Interlocked.Read(ref _pushed) && doc.Digest == Volatile.Read(ref _pushedDigest))
        {
            return;
        }
        byte[] payload = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(doc, ChannelJsonContext.Default.DomainConfigDocument);
        if (payload.Length + 1 > session.MaxSendSize)
        {
            // Sending would throw and end the channel, and the reconnect would try the same document again: keep the
            // channel (the agent keeps its last version) and say once per document what is wrong.
            if (doc.Digest != Volatile.Read(ref _oversizedDigest))
            {
                Volatile.Write(ref _oversizedDigest, doc.Digest);
                Interlocked.Increment(ref _oversized);
                Log.DocumentTooLarge(_logger, _domain, doc.Version, payload.Length, session.MaxSendSize, Interlocked.Read(ref _acknowledged));
            }
            return;
        }
        await session.WriteAsync(ChannelMessageType.Config, payload).ConfigureAwait(false);
        Interlocked.Exchange(ref _pushed, doc.Version);
        Volatile.Write(ref _pushedDigest, doc.Digest);
        Log.Pushed(_logger, _domain, doc.Version);
    }

    // Internal for the fuzz target (tests/OverlayKvm.Fuzz): one guest message, exactly as the channel loop hands it
    // over, with the loop's bounded writes.
    internal async Task HandleAsync(ChannelConnection connection, ChannelMessage message, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        await HandleAsync(new Session(this, connection, cts), message).ConfigureAwait(false);
    }

    private async Task HandleAsync(Session session, ChannelMessage message)
    {
        switch (message.Type)
        {
            case ChannelMessageType.Hello:
            {
                var hello = ChannelConnection.TryParse(message.Payload, ChannelJsonContext.Default.HelloMessage, out string? error);
                if (hello is null || hello.Protocol != ChannelProtocol.Version)
                {
                    Interlocked.Increment(ref _rejected);
                    await session.SendErrorAsync("bad-hello", error ?? $"protocol {hello?.Protocol} not supported (host speaks {ChannelProtocol.Version})").ConfigureAwait(false);
                }
                return;
            }
            case ChannelMessageType.ConfigAck:
            {
                var ack = ChannelConnection.TryParse(message.Payload, ChannelJsonContext.Default.ConfigAckMessage, out string? error);
                if (ack is null)
                {
                    Interlocked.Increment(ref _rejected);
                    await session.SendErrorAsync("bad-payload", error!).ConfigureAwait(false);
                    return;
                }
                if (ack.Applied)
                {
                    Interlocked.Exchange(ref _acknowledged, ack.Version);
                }
                else
                {
                    Warn(w => Log.Refused(_logger, _domain, ack.Version, GuestText.Bounded(ack.Error), w));
                }
                Acknowledged?.Invoke(_domain, ack);
                return;
            }
            case ChannelMessageType.AppStarted:
            case ChannelMessageType.AppStopped:
            {
                var ev = ChannelConnection.TryParse(message.Payload, ChannelJsonContext.Default.AppEventMessage, out string? error);
                if (ev is null)
                {
                    Interlocked.Increment(ref _rejected);
                    await session.SendErrorAsync("bad-payload", error!).ConfigureAwait(false);
                    return;
                }
                AppEvent?.Invoke(_domain, ev, message.Type == ChannelMessageType.AppStarted);
                return;
            }
            case ChannelMessageType.Heartbeat:
                _hypercalls?.Heartbeat();
                return;
            case ChannelMessageType.Register:
            case ChannelMessageType.Query:
            case ChannelMessageType.Deregister:
            {
                if (_hypercalls is null)
                {
                    Interlocked.Increment(ref _rejected);
                    await session.SendErrorAsync("no-engine", $"message type {(byte)message.Type}: overlayd runs without an acceleration engine").ConfigureAwait(false);
                    return;
                }
                EngineHypercallDispatcher.Answer answer = _hypercalls.Dispatch(message.Type, message.Payload);
                if (answer.Rejected)
                {
                    Interlocked.Increment(ref _rejected);
                }
                await session.WriteAsync(answer.Type, answer.Payload).ConfigureAwait(false);
                return;
            }
            case ChannelMessageType.DirectoryQuery:
            {
                var query = ChannelConnection.TryParse(message.Payload, ChannelJsonContext.Default.DirectoryQuery, out string? error);
                if (query is null)
                {
                    Interlocked.Increment(ref _rejected);
                    await session.SendErrorAsync("bad-payload", error!).ConfigureAwait(false);
                    return;
                }
                // Each answer reads the store and builds the domain's document: the same per-domain budget as engine requests.
                if (!_budget.TryHypercall())
                {
                    await session.SendErrorAsync("throttled", $"directory query {query.Id}: too many requests from {_domain}").ConfigureAwait(false);
                    return;
                }
                DirectoryAnswer answer;
                try
                {
                    answer = DirectoryService.DirectoryQueryAnswers.Answer(_document(), query);
                }
                catch (Core.Store.EntityNotFoundException)
                {
                    // The domain was undefined while its agent still runs: it may know nothing.
                    answer = new DirectoryAnswer(query.Id, query.Address, false, null, null, -1, DirectoryService.DirectoryQueryAnswers.TtlSeconds);
                }
                await session.WriteJsonAsync(ChannelMessageType.DirectoryAnswer, answer, ChannelJsonContext.Default.DirectoryAnswer).ConfigureAwait(false);
                return;
            }
            case ChannelMessageType.EngineLeave:
                if (_engineLeaves.Complete(message.Payload) is { } refusedLeave)
                {
                    Interlocked.Increment(ref _rejected);
                    await session.SendErrorAsync("bad-payload", refusedLeave).ConfigureAwait(false);
                }
                return;
            case ChannelMessageType.CounterReport:
                if (_counterQueries.Complete(message.Payload) is { } refused)
                {
                    Interlocked.Increment(ref _rejected);
                    await session.SendErrorAsync("bad-payload", refused).ConfigureAwait(false);
                }
                return;
            case ChannelMessageType.Error:
            {
                var err = ChannelConnection.TryParse(message.Payload, ChannelJsonContext.Default.ErrorMessage, out _);
                Warn(w => Log.AgentError(_logger, _domain, GuestText.Bounded(err?.Code), GuestText.Bounded(err?.Message ?? "(unparsable)"), w));
                return;
            }
            default:
                Interlocked.Increment(ref _rejected);
                await session.SendErrorAsync("unknown-type", $"message type {(byte)message.Type} is not understood by overlayd").ConfigureAwait(false);
                return;
        }
    }

    /// <summary>
    /// The channel of a running domain ends only when QEMU goes (destroy, crash, shutdown) or the guest broke the
    /// protocol: either way its engine slots must not outlive it until the heartbeat expiry (30 s), during which
    /// peers would keep writing into rings nobody reads. A live agent re-registers at its next round (≤ 5 s).
    /// Not on our own shutdown (cancellation returns before this): the region keeps serving (fail-static).
    /// </summary>
    private void ReleaseEngineSlots()
    {
        if (_engine is not null && _engine.RemoveDomain(_domain) > 0)
        {
            Log.SlotsReleased(_logger, _domain);
        }
    }

    // Raised on the registry caller's thread: record the latest version and signal the pusher, never block the
    // registry and never start a task per change (a guest that stops reading would pile them up).
    private void OnDirectoryChanged(string group, ulong version)
    {
        ChannelConnection? connection = Volatile.Read(ref _connection);
        if (connection is null || _hypercalls is null || !_hypercalls.Follows(group))
        {
            return;
        }
        _pendingDirectory.AddOrUpdate(group, version, (_, pending) => Math.Max(pending, version));
        try
        {
            _directorySignal.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already signalled: the pusher reads the newest versions.
        }
    }

    /// <summary>Counts every refused listener; logs a listener once, not at every reconnect attempt.</summary>
    private void RefusePeer(PeerCredentials peer, string reason)
    {
        Interlocked.Increment(ref _refusedPeers);
        if (_lastRefusedPeer == peer)
        {
            return;
        }
        _lastRefusedPeer = peer;
        Log.PeerRefused(_logger, _domain, _socketPath, reason);
    }

    /// <summary>Logs a guest-caused warning within this domain's budget; the argument is how many were dropped before it.</summary>
    private void Warn(Action<long> log)
    {
        if (_budget.TryWarn(out long suppressed))
        {
            log(suppressed);
        }
    }

    /// <summary>One connection's writes, each bounded by the write timeout; a timeout ends the session.</summary>
    private sealed class Session(DomainChannelClient owner, ChannelConnection connection, CancellationTokenSource cts)
    {
        public CancellationToken Token => cts.Token;

        public int MaxSendSize => connection.MaxSendSize;

        /// <summary>Set when a write timed out: why the channel is being dropped.</summary>
        public string? TimeoutReason { get; private set; }

        public Task WriteJsonAsync<T>(ChannelMessageType type, T value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> info) =>
            BoundedAsync(type, ct => connection.WriteJsonAsync(type, value, info, ct));

        public Task WriteAsync(ChannelMessageType type, ReadOnlyMemory<byte> payload) =>
            BoundedAsync(type, ct => connection.WriteAsync(type, payload, ct));

        public Task SendErrorAsync(string code, string message) =>
            BoundedAsync(ChannelMessageType.Error, ct => connection.SendErrorAsync(code, message, ct));

        private async Task BoundedAsync(ChannelMessageType type, Func<CancellationToken, ValueTask> write)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cts.Token);
            timeout.CancelAfter(owner._writeTimeout);
            try
            {
                await write(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cts.IsCancellationRequested)
            {
                // A half-written frame cannot be resumed: drop the channel; the client reconnects with back-off.
                TimeoutReason = $"the guest did not read a {type} message within {owner._writeTimeout.TotalSeconds:0.#} s";
                Interlocked.Increment(ref owner._writeTimeouts);
                await cts.CancelAsync().ConfigureAwait(false);
                throw;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_engine is not null)
        {
            _engine.DirectoryChanged -= OnDirectoryChanged;
        }
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_run is not null)
        {
            try
            {
                await _run.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }
        _stop.Dispose();
        _changed.Dispose();
        _directorySignal.Dispose();
        _budget.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(100, LogLevel.Information, "domain {Domain}: agent channel connected ({Path})")]
        public static partial void Connected(ILogger logger, string domain, string path);

        [LoggerMessage(101, LogLevel.Information, "domain {Domain}: agent channel lost ({Reason}); reconnecting")]
        public static partial void Disconnected(ILogger logger, string domain, string reason);

        [LoggerMessage(102, LogLevel.Information, "domain {Domain}: configuration version {Version} pushed")]
        public static partial void Pushed(ILogger logger, string domain, long version);

        [LoggerMessage(103, LogLevel.Warning, "domain {Domain}: agent refused configuration version {Version}: {Reason} ({Suppressed} similar warnings suppressed before)")]
        public static partial void Refused(ILogger logger, string domain, long version, string reason, long suppressed);

        [LoggerMessage(104, LogLevel.Warning, "domain {Domain}: protocol violation by the guest: {Reason} ({Suppressed} similar warnings suppressed before)")]
        public static partial void Violation(ILogger logger, string domain, string reason, long suppressed);

        [LoggerMessage(105, LogLevel.Warning, "domain {Domain}: agent reported error {Code}: {Message} ({Suppressed} similar warnings suppressed before)")]
        public static partial void AgentError(ILogger logger, string domain, string code, string message, long suppressed);

        [LoggerMessage(106, LogLevel.Information, "domain {Domain}: channel gone, its engine slots released")]
        public static partial void SlotsReleased(ILogger logger, string domain);

        [LoggerMessage(107, LogLevel.Warning, "domain {Domain}: channel {Path} refused, nothing sent: {Reason}; further refusals of this listener are only counted")]
        public static partial void PeerRefused(ILogger logger, string domain, string path, string reason);

        [LoggerMessage(108, LogLevel.Error, "domain {Domain}: configuration version {Version} not pushed: it is {Bytes} bytes, more than the host channel carries ({Limit}); the agent keeps version {Running}")]
        public static partial void DocumentTooLarge(ILogger logger, string domain, long version, int bytes, int limit, long running);
    }
}
