using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OverlayKvm.Core.Channel;
using OverlayKvm.Core.Config;
using OverlayKvm.GuestAgent.Config;
using OverlayKvm.GuestAgent.State;
using OverlayKvm.GuestAgent.Tun;

namespace OverlayKvm.GuestAgent.Channel;

/// <summary>
/// The agent's end of the host channel (docs/host-channel.md): says hello, applies every configuration document
/// the host pushes (live: new keys, peers, routes) and acknowledges it, answers heartbeats, reports app start and
/// stop, and answers anything it does not understand with an error (counted) instead of failing. When the host
/// goes away it waits for the next connection; the last configuration keeps serving meanwhile.
/// </summary>
internal sealed partial class HostChannelService : BackgroundService
{
    private readonly IHostChannelTransport _transport;
    private readonly AgentState _state;
    private readonly SnapshotCompiler _compiler;
    private readonly AdapterManager _adapters;
    private readonly ILogger<HostChannelService> _logger;
    private readonly HostChannelLink _link;
    private readonly LearnedRoutes _learned;
    private readonly Dictionary<ChannelMessageType, IHostChannelHandler> _handlers = new();
    private readonly System.Threading.Channels.Channel<(ApplicationEntity Binding, bool Started)> _appEvents =
        System.Threading.Channels.Channel.CreateBounded<(ApplicationEntity, bool)>(new BoundedChannelOptions(256) { FullMode = BoundedChannelFullMode.DropOldest });
    private long _rejectedMessages;

    public HostChannelService(IHostChannelTransport transport, AgentState state, SnapshotCompiler compiler, AdapterManager adapters,
        ILogger<HostChannelService> logger, HostChannelLink? link = null, IEnumerable<IHostChannelHandler>? handlers = null, LearnedRoutes? learned = null)
    {
        _learned = learned ?? new LearnedRoutes();
        _link = link ?? new HostChannelLink();
        foreach (IHostChannelHandler handler in handlers ?? [])
        {
            foreach (ChannelMessageType type in handler.MessageTypes)
            {
                _handlers[type] = handler;
            }
        }
        _transport = transport;
        _state = state;
        _compiler = compiler;
        _adapters = adapters;
        _logger = logger;
        _adapters.AppChanged += (binding, started) => _appEvents.Writer.TryWrite((binding, started));
    }

    /// <summary>Messages refused (unknown type, bad payload): hostile or newer hosts.</summary>
    public long RejectedMessages => Interlocked.Read(ref _rejectedMessages);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        Log.Waiting(_logger, _transport.Describe());
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                Stream stream = await _transport.ConnectAsync(stoppingToken).ConfigureAwait(false);
                // Documents of large groups are big (ChannelProtocol.MaxHostMessageSize); what the agent sends stays small.
                await using var connection = new ChannelConnection(stream, ChannelProtocol.MaxHostMessageSize, ChannelProtocol.DefaultMaxMessageSize);
                await ServeAsync(connection, stoppingToken).ConfigureAwait(false);
                Log.Disconnected(_logger, "end of stream");
                // A virtio-serial port reopened while the host is away can end at once: do not spin on it.
                await Task.Delay(TimeSpan.FromMilliseconds(200), stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or UnauthorizedAccessException)
            {
                Log.Disconnected(_logger, ex.Message);
                await Task.Delay(TimeSpan.FromMilliseconds(200), stoppingToken).ConfigureAwait(false);
            }
        }
    }

    private async Task ServeAsync(ChannelConnection connection, CancellationToken stoppingToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        await connection.WriteJsonAsync(ChannelMessageType.Hello, new HelloMessage(ChannelProtocol.Version, "agent", "overlay-agent 1"),
            ChannelJsonContext.Default.HelloMessage, cts.Token).ConfigureAwait(false);
        Task events = ForwardAppEventsAsync(connection, cts.Token);
        _link.Attach(connection);
        try
        {
            await connection.ReadAllAsync((message, ct) => HandleAsync(connection, message, ct), cts.Token).ConfigureAwait(false);
        }
        catch (ChannelProtocolException ex)
        {
            Interlocked.Increment(ref _rejectedMessages);
            Log.ProtocolViolation(_logger, ex.Message);
            await TrySendErrorAsync(connection, "too-large", ex.Message, cts.Token).ConfigureAwait(false);
        }
        finally
        {
            _link.Attach(null);
            await cts.CancelAsync().ConfigureAwait(false);
            try
            {
                await events.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    internal async Task HandleAsync(ChannelConnection connection, ChannelMessage message, CancellationToken cancellationToken)
    {
        switch (message.Type)
        {
            case ChannelMessageType.Hello:
            {
                var hello = ChannelConnection.TryParse(message.Payload, ChannelJsonContext.Default.HelloMessage, out string? error);
                if (hello is null || hello.Protocol != ChannelProtocol.Version)
                {
                    Interlocked.Increment(ref _rejectedMessages);
                    await connection.SendErrorAsync("bad-hello", error ?? $"protocol {hello?.Protocol} not supported (agent speaks {ChannelProtocol.Version})", cancellationToken).ConfigureAwait(false);
                    return;
                }
                Log.HostHello(_logger, hello.Software, hello.Protocol);
                return;
            }
            case ChannelMessageType.Config:
            {
                DomainConfigDocument? doc = ChannelConnection.TryParse(message.Payload, ChannelJsonContext.Default.DomainConfigDocument, out string? error);
                // The raw JSON holds the group keys in base64: wipe it now that they live (zeroable) in the document.
                System.Security.Cryptography.CryptographicOperations.ZeroMemory(System.Runtime.InteropServices.MemoryMarshal.AsMemory(message.Payload).Span);
                if (doc is null)
                {
                    Interlocked.Increment(ref _rejectedMessages);
                    await connection.WriteJsonAsync(ChannelMessageType.ConfigAck, new ConfigAckMessage(-1, false, error), ChannelJsonContext.Default.ConfigAckMessage, cancellationToken).ConfigureAwait(false);
                    return;
                }
                ConfigAckMessage ack = Apply(doc);
                await connection.WriteJsonAsync(ChannelMessageType.ConfigAck, ack, ChannelJsonContext.Default.ConfigAckMessage, cancellationToken).ConfigureAwait(false);
                return;
            }
            case ChannelMessageType.Heartbeat:
                await connection.WriteAsync(ChannelMessageType.Heartbeat, ReadOnlyMemory<byte>.Empty, cancellationToken).ConfigureAwait(false);
                return;
            case ChannelMessageType.Error:
            {
                var err = ChannelConnection.TryParse(message.Payload, ChannelJsonContext.Default.ErrorMessage, out _);
                Log.HostError(_logger, err?.Code ?? "?", err?.Message ?? "(unparsable error payload)");
                return;
            }
            default:
                if (_handlers.TryGetValue(message.Type, out IHostChannelHandler? handler))
                {
                    try
                    {
                        await handler.HandleAsync(connection, message, cancellationToken).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException and not IOException)
                    {
                        Interlocked.Increment(ref _rejectedMessages);
                        await connection.SendErrorAsync("handler-failed", $"message type {(byte)message.Type}: {ex.Message}", cancellationToken).ConfigureAwait(false);
                    }
                    return;
                }
                Interlocked.Increment(ref _rejectedMessages);
                await connection.SendErrorAsync("unknown-type", $"message type {(byte)message.Type} is not understood by this agent", cancellationToken).ConfigureAwait(false);
                return;
        }
    }

    internal ConfigAckMessage Apply(DomainConfigDocument doc)
    {
        AgentSnapshot? current = _state.Current;
        if (current is not null && doc.Version < current.Version)
        {
            Interlocked.Increment(ref _rejectedMessages);
            return new ConfigAckMessage(doc.Version, false, $"version {doc.Version} is older than the running version {current.Version}");
        }
        if (current is not null && doc.Version == current.Version && doc.Digest == current.Document.Digest && doc.Digest.Length > 0)
        {
            return new ConfigAckMessage(doc.Version, true, null);
        }
        try
        {
            AgentSnapshot snapshot;
            lock (_learned.Sync)
            {
                // Members learned from directory answers newer than this document stay until it catches up.
                snapshot = _compiler.Compile(_learned.Merge(doc, DateTimeOffset.UtcNow.UtcTicks), _state.Current);
                _state.Publish(snapshot);
            }
            _adapters.OnConfigChanged(snapshot);
            Log.Applied(_logger, doc.Domain, doc.Version, doc.Groups.Count, doc.Apps.Count);
            return new ConfigAckMessage(doc.Version, true, null);
        }
        catch (ConfigCompileException ex)
        {
            Interlocked.Increment(ref _rejectedMessages);
            Log.Refused(_logger, doc.Version, ex.Message);
            return new ConfigAckMessage(doc.Version, false, ex.Message);
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
        {
            // A document the compiler cannot handle is an agent bug, not a reason to lose the host: an exception here
            // used to end the channel (issue 11: a member address ending in .128 did), and the host reconnected and
            // pushed the same document again. Refuse it, keep running the last one, and say why on both ends.
            Interlocked.Increment(ref _rejectedMessages);
            Log.CompileFailed(_logger, doc.Version, ex);
            return new ConfigAckMessage(doc.Version, false, $"the agent failed to compile version {doc.Version}: {ex.GetType().Name}: {ex.Message}");
        }
    }

    private async Task ForwardAppEventsAsync(ChannelConnection connection, CancellationToken cancellationToken)
    {
        await foreach (var (binding, started) in _appEvents.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            await connection.WriteJsonAsync(started ? ChannelMessageType.AppStarted : ChannelMessageType.AppStopped,
                new AppEventMessage(binding.Group, binding.App, binding.Address), ChannelJsonContext.Default.AppEventMessage, cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task TrySendErrorAsync(ChannelConnection connection, string code, string message, CancellationToken cancellationToken)
    {
        try
        {
            await connection.SendErrorAsync(code, message, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException)
        {
            // The channel is being closed because of this very violation; the error reply is best effort.
        }
    }

    private static partial class Log
    {
        [LoggerMessage(30, LogLevel.Information, "host channel: waiting for the host on {Transport}")]
        public static partial void Waiting(ILogger logger, string transport);

        [LoggerMessage(31, LogLevel.Information, "host channel: host says hello ({Software}, protocol {Protocol})")]
        public static partial void HostHello(ILogger logger, string software, int protocol);

        [LoggerMessage(32, LogLevel.Information, "configuration version {Version} for domain {Domain} applied: {Groups} groups, {Apps} apps")]
        public static partial void Applied(ILogger logger, string domain, long version, int groups, int apps);

        [LoggerMessage(33, LogLevel.Warning, "configuration version {Version} refused: {Reason}")]
        public static partial void Refused(ILogger logger, long version, string reason);

        [LoggerMessage(34, LogLevel.Warning, "host channel: protocol violation: {Reason}")]
        public static partial void ProtocolViolation(ILogger logger, string reason);

        [LoggerMessage(35, LogLevel.Information, "host channel: disconnected ({Reason})")]
        public static partial void Disconnected(ILogger logger, string reason);

        [LoggerMessage(36, LogLevel.Warning, "host channel: host reported error {Code}: {Message}")]
        public static partial void HostError(ILogger logger, string code, string message);

        [LoggerMessage(37, LogLevel.Error, "configuration version {Version} refused: the agent failed to compile it; the previous version keeps running")]
        public static partial void CompileFailed(ILogger logger, long version, Exception exception);
    }
}
