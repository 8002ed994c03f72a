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
/// </summary>
internal sealed partial class DomainChannelClient : IAsyncDisposable
{
    private readonly string _domain;
    private readonly string _socketPath;
    private readonly Func<DomainConfigDocument> _document;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _changed = new(0, 1);
    private readonly CancellationTokenSource _stop = new();
    private Task? _run;
    private long _pushed = -1;
    // A key epoch that retires drops out of the document without a store change: same version, new digest.
    private string? _pushedDigest;
    private long _acknowledged = -1;
    private long _rejected;
    private readonly EngineRegistry? _engine;
    private readonly EngineHypercallDispatcher? _hypercalls;
    private ChannelConnection? _connection;
    private readonly AgentCounterQueries _counterQueries;

    public DomainChannelClient(string domain, string socketPath, Func<DomainConfigDocument> document, ILogger logger, TimeProvider? time = null,
        EngineRegistry? engine = null)
    {
        if (engine is not null)
        {
            _engine = engine;
            _hypercalls = new EngineHypercallDispatcher(domain, engine);
            engine.DirectoryChanged += OnDirectoryChanged;
        }
        _domain = domain;
        _counterQueries = new AgentCounterQueries(domain);
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

    /// <summary>Asks the agent for its counters (R0.10); throws <see cref="AgentUnavailableException"/> when it cannot answer.</summary>
    public Task<Core.Api.AgentCounters> QueryCountersAsync(TimeSpan timeout, CancellationToken cancellationToken) =>
        _counterQueries.AskAsync(Volatile.Read(ref _connection), timeout, cancellationToken);

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
                delay = TimeSpan.FromMilliseconds(100);
                await using var connection = new ChannelConnection(new NetworkStream(socket, ownsSocket: false));
                Connected = true;
                Log.Connected(_logger, _domain, _socketPath);
                await ServeAsync(connection, cancellationToken).ConfigureAwait(false);
                Log.Disconnected(_logger, _domain, "the other end closed the channel");
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
        await connection.WriteJsonAsync(ChannelMessageType.Hello, new HelloMessage(ChannelProtocol.Version, "host", "overlayd 1"),
            ChannelJsonContext.Default.HelloMessage, cts.Token).ConfigureAwait(false);
        await PushAsync(connection, cts.Token).ConfigureAwait(false);
        Task pusher = PushOnChangeAsync(connection, cts.Token);
        Volatile.Write(ref _connection, connection);
        try
        {
            await connection.ReadAllAsync((message, ct) => HandleAsync(connection, message, ct), cts.Token).ConfigureAwait(false);
        }
        catch (ChannelProtocolException ex)
        {
            Interlocked.Increment(ref _rejected);
            Log.Violation(_logger, _domain, ex.Message);
            throw new IOException(ex.Message, ex);
        }
        finally
        {
            Volatile.Write(ref _connection, null);
            await cts.CancelAsync().ConfigureAwait(false);
            try
            {
                await pusher.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    private async Task PushOnChangeAsync(ChannelConnection connection, CancellationToken cancellationToken)
    {
        while (true)
        {
            await _changed.WaitAsync(cancellationToken).ConfigureAwait(false);
            await PushAsync(connection, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task PushAsync(ChannelConnection connection, CancellationToken cancellationToken)
    {
        DomainConfigDocument doc = _document();
        if (doc.Version == Interlocked.Read(ref _pushed) && doc.Digest == Volatile.Read(ref _pushedDigest))
        {
            return;
        }
        await connection.WriteJsonAsync(ChannelMessageType.Config, doc, ChannelJsonContext.Default.DomainConfigDocument, cancellationToken).ConfigureAwait(false);
        Interlocked.Exchange(ref _pushed, doc.Version);
        Volatile.Write(ref _pushedDigest, doc.Digest);
        Log.Pushed(_logger, _domain, doc.Version);
    }

    // Internal for the fuzz target (tests/OverlayKvm.Fuzz): one guest message, exactly as the channel loop hands it over.
    internal async Task HandleAsync(ChannelConnection connection, ChannelMessage message, CancellationToken cancellationToken)
    {
        switch (message.Type)
        {
            case ChannelMessageType.Hello:
            {
                var hello = ChannelConnection.TryParse(message.Payload, ChannelJsonContext.Default.HelloMessage, out string? error);
                if (hello is null || hello.Protocol != ChannelProtocol.Version)
                {
                    Interlocked.Increment(ref _rejected);
                    await connection.SendErrorAsync("bad-hello", error ?? $"protocol {hello?.Protocol} not supported (host speaks {ChannelProtocol.Version})", cancellationToken).ConfigureAwait(false);
                }
                return;
            }
            case ChannelMessageType.ConfigAck:
            {
                var ack = ChannelConnection.TryParse(message.Payload, ChannelJsonContext.Default.ConfigAckMessage, out string? error);
                if (ack is null)
                {
                    Interlocked.Increment(ref _rejected);
                    await connection.SendErrorAsync("bad-payload", error!, cancellationToken).ConfigureAwait(false);
                    return;
                }
                if (ack.Applied)
                {
                    Interlocked.Exchange(ref _acknowledged, ack.Version);
                }
                else
                {
                    Log.Refused(_logger, _domain, ack.Version, ack.Error ?? "(no reason)");
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
                    await connection.SendErrorAsync("bad-payload", error!, cancellationToken).ConfigureAwait(false);
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
                    await connection.SendErrorAsync("no-engine", $"message type {(byte)message.Type}: overlayd runs without an acceleration engine", cancellationToken).ConfigureAwait(false);
                    return;
                }
                EngineHypercallDispatcher.Answer answer = _hypercalls.Dispatch(message.Type, message.Payload);
                if (answer.Rejected)
                {
                    Interlocked.Increment(ref _rejected);
                }
                await connection.WriteAsync(answer.Type, answer.Payload, cancellationToken).ConfigureAwait(false);
                return;
            }
            case ChannelMessageType.CounterReport:
                if (_counterQueries.Complete(message.Payload) is { } refused)
                {
                    Interlocked.Increment(ref _rejected);
                    await connection.SendErrorAsync("bad-payload", refused, cancellationToken).ConfigureAwait(false);
                }
                return;
            case ChannelMessageType.Error:
            {
                var err = ChannelConnection.TryParse(message.Payload, ChannelJsonContext.Default.ErrorMessage, out _);
                Log.AgentError(_logger, _domain, err?.Code ?? "?", err?.Message ?? "(unparsable)");
                return;
            }
            default:
                Interlocked.Increment(ref _rejected);
                await connection.SendErrorAsync("unknown-type", $"message type {(byte)message.Type} is not understood by overlayd", cancellationToken).ConfigureAwait(false);
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

    // Raised on the registry caller's thread: send in the background, never block the registry.
    private void OnDirectoryChanged(string group, ulong version)
    {
        ChannelConnection? connection = Volatile.Read(ref _connection);
        if (connection is null || _hypercalls is null || !_hypercalls.Follows(group))
        {
            return;
        }
        _ = PushDirectoryChangedAsync(connection, group, version);
    }

    private async Task PushDirectoryChangedAsync(ChannelConnection connection, string group, ulong version)
    {
        try
        {
            await connection.WriteJsonAsync(ChannelMessageType.EngineDirectoryChanged, new EngineDirectoryChangedMessage(group, version),
                ChannelJsonContext.Default.EngineDirectoryChangedMessage, _stop.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException)
        {
            // The channel closed meanwhile; the agent drops its cache when it reconnects and re-registers.
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
    }

    private static partial class Log
    {
        [LoggerMessage(100, LogLevel.Information, "domain {Domain}: agent channel connected ({Path})")]
        public static partial void Connected(ILogger logger, string domain, string path);

        [LoggerMessage(101, LogLevel.Information, "domain {Domain}: agent channel lost ({Reason}); reconnecting")]
        public static partial void Disconnected(ILogger logger, string domain, string reason);

        [LoggerMessage(102, LogLevel.Information, "domain {Domain}: configuration version {Version} pushed")]
        public static partial void Pushed(ILogger logger, string domain, long version);

        [LoggerMessage(103, LogLevel.Warning, "domain {Domain}: agent refused configuration version {Version}: {Reason}")]
        public static partial void Refused(ILogger logger, string domain, long version, string reason);

        [LoggerMessage(104, LogLevel.Warning, "domain {Domain}: protocol violation by the guest: {Reason}")]
        public static partial void Violation(ILogger logger, string domain, string reason);

        [LoggerMessage(105, LogLevel.Warning, "domain {Domain}: agent reported error {Code}: {Message}")]
        public static partial void AgentError(ILogger logger, string domain, string code, string message);

        [LoggerMessage(106, LogLevel.Information, "domain {Domain}: channel gone, its engine slots released")]
        public static partial void SlotsReleased(ILogger logger, string domain);
    }
}
