using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OverlayKvm.Core.Channel;
using OverlayKvm.Core.Model.Validation;
using OverlayKvm.GuestAgent.Config;

namespace OverlayKvm.GuestAgent.Channel;

/// <summary>
/// Directory lookups on a miss (seed 002 R4–R5): when the send path has no route for a destination it calls
/// <see cref="OnMiss"/>; one query per address goes to overlayd over the host channel (at most
/// <see cref="MaxQueriesPerSecond"/>, none while an earlier answer for it is still fresh), and the answer is cached for
/// its TTL — a negative one too, so an address nobody may reach costs one query per TTL, not one per packet. A positive
/// answer is merged into the current document and compiled (<see cref="LearnedRoutes"/>): the member is reachable from
/// the next packet on, before the pushed document that lists it arrives. The packet that missed is dropped (`no-route`);
/// TCP's retransmission or the application's next packet finds the route.
/// </summary>
internal sealed partial class DirectoryLookups : BackgroundService, IHostChannelHandler
{
    public const int MaxQueriesPerSecond = 20;
    private static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(2);

    private readonly AgentState _state;
    private readonly SnapshotCompiler _compiler;
    private readonly LearnedRoutes _learned;
    private readonly HostChannelLink _link;
    private readonly TimeProvider _time;
    private readonly ILogger<DirectoryLookups> _logger;
    // address → UTC ticks until which it is not asked again (pending, or answered and cached).
    private readonly ConcurrentDictionary<uint, long> _quietUntil = new();
    private readonly ConcurrentDictionary<long, TaskCompletionSource<DirectoryAnswer>> _pending = new();
    private readonly Channel<uint> _queue = System.Threading.Channels.Channel.CreateBounded<uint>(new BoundedChannelOptions(64) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly Lock _rateLock = new();
    private long _rateWindowStart;
    private int _rateWindowCount;
    private long _nextId;

    public DirectoryLookups(AgentState state, SnapshotCompiler compiler, LearnedRoutes learned, HostChannelLink link, TimeProvider time, ILogger<DirectoryLookups> logger)
    {
        _state = state;
        _compiler = compiler;
        _learned = learned;
        _link = link;
        _time = time;
        _logger = logger;
    }

    public long Queries;
    public long Found;
    public long NotFound;
    public long Unanswered;
    public long RateLimited;

    public IReadOnlyCollection<ChannelMessageType> MessageTypes { get; } = [ChannelMessageType.DirectoryAnswer];

    /// <summary>Per packet on a miss: no allocation unless a query is actually sent (at most <see cref="MaxQueriesPerSecond"/>).</summary>
    public void OnMiss(uint address)
    {
        long now = _time.GetUtcNow().UtcTicks;
        if (_quietUntil.TryGetValue(address, out long until) && until > now)
        {
            return;
        }
        lock (_rateLock)
        {
            if (now - _rateWindowStart >= TimeSpan.TicksPerSecond)
            {
                _rateWindowStart = now;
                _rateWindowCount = 0;
            }
            if (_rateWindowCount >= MaxQueriesPerSecond)
            {
                Interlocked.Increment(ref RateLimited);
                return;
            }
            _rateWindowCount++;
        }
        _quietUntil[address] = now + AnswerTimeout.Ticks;
        _queue.Writer.TryWrite(address);
    }

    public Task HandleAsync(ChannelConnection connection, ChannelMessage message, CancellationToken cancellationToken)
    {
        DirectoryAnswer? answer = ChannelConnection.TryParse(message.Payload, ChannelJsonContext.Default.DirectoryAnswer, out string? error);
        if (answer is null)
        {
            throw new InvalidDataException($"directory answer: {error}");
        }
        if (_pending.TryRemove(answer.Id, out var waiter))
        {
            waiter.TrySetResult(answer);
        }
        return Task.CompletedTask;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await foreach (uint address in _queue.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
        {
            try
            {
                await AskAsync(address, stoppingToken).ConfigureAwait(false);
            }
            catch (ConfigCompileException ex)
            {
                // The answer did not compile (e.g. a VM without an address yet): as good as no answer; asked again after the TTL.
                Log.Unusable(_logger, Format(address), ex.Message);
            }
        }
    }

    private async Task AskAsync(uint address, CancellationToken cancellationToken)
    {
        long id = Interlocked.Increment(ref _nextId);
        var waiter = new TaskCompletionSource<DirectoryAnswer>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = waiter;
        Interlocked.Increment(ref Queries);
        byte[] payload = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new DirectoryQuery(id, Format(address)), ChannelJsonContext.Default.DirectoryQuery);
        DirectoryAnswer? answer = null;
        if (await _link.TrySendAsync(ChannelMessageType.DirectoryQuery, payload, cancellationToken).ConfigureAwait(false))
        {
            try
            {
                answer = await waiter.Task.WaitAsync(AnswerTimeout, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
            }
        }
        _pending.TryRemove(id, out _);
        if (answer is null)
        {
            // No host or no answer: the address may be asked again at the next miss after the answer timeout.
            Interlocked.Increment(ref Unanswered);
            return;
        }
        long now = _time.GetUtcNow().UtcTicks;
        _quietUntil[address] = now + TimeSpan.FromSeconds(Math.Clamp(answer.TtlSeconds, 1, 600)).Ticks;
        if (!answer.Found || answer.Member is null || answer.Member.Address != Format(address))
        {
            Interlocked.Increment(ref NotFound);
            return;
        }
        Interlocked.Increment(ref Found);
        lock (_learned.Sync)
        {
            AgentSnapshot? current = _state.Current;
            if (current is null || current.Directory.ContainsKey(address) || answer.Version <= current.Version)
            {
                return; // a pushed document already covers it (or says it is gone)
            }
            _learned.Add(answer, now);
            _state.Publish(_compiler.Compile(_learned.Merge(current.Document, now), current));
        }
        Log.Learned(_logger, Format(address), answer.Group ?? "?", answer.Member.Domain, string.Join(", ", answer.Member.Actions));
    }

    private static string Format(uint address) => AddressMath.FromNumber(address, AddressFamily.InterNetwork).ToString();

    private static partial class Log
    {
        [LoggerMessage(70, LogLevel.Information, "directory: {Address} is {Group} on {Domain} ({Actions}), learned before the next document")]
        public static partial void Learned(ILogger logger, string address, string group, string domain, string actions);

        [LoggerMessage(71, LogLevel.Warning, "directory: the answer for {Address} cannot be used: {Reason}")]
        public static partial void Unusable(ILogger logger, string address, string reason);
    }
}
