using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using OverlayKvm.Core.Channel;
using OverlayKvm.GuestAgent.Channel;

namespace OverlayKvm.GuestAgent.Engine;

/// <summary>
/// The agent's side of the engine "hypercalls" on the host channel (docs/host-channel.md): sends register, query
/// and deregister requests with a request id and completes the caller when the host answers with that id. Answers
/// nobody waits for (late, duplicated, hostile) are counted and ignored. Also receives the host's
/// <see cref="ChannelMessageType.EngineDirectoryChanged"/> push and raises <see cref="DirectoryChanged"/>.
/// Control traffic only: a few messages per app start and per new destination.
/// </summary>
internal sealed class EngineHypercalls : IHostChannelHandler
{
    /// <summary>How long a request waits for its answer before the caller treats the engine as absent.</summary>
    public static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(3);

    /// <summary>Bound on outstanding requests: a host that never answers cannot make the agent grow.</summary>
    public const int MaxPending = 256;

    private readonly HostChannelLink _link;
    private readonly ConcurrentDictionary<long, TaskCompletionSource<ChannelMessage>> _pending = new();
    private long _nextId;
    private long _unmatched;

    public EngineHypercalls(HostChannelLink link) => _link = link;

    public IReadOnlyCollection<ChannelMessageType> MessageTypes { get; } =
        [ChannelMessageType.Register, ChannelMessageType.Query, ChannelMessageType.Deregister, ChannelMessageType.EngineDirectoryChanged];

    /// <summary>Raised with (group, directory version) when the host says a group's engine directory changed.</summary>
    public event Action<string, ulong>? DirectoryChanged;

    /// <summary>Answers that matched no outstanding request, or could not be parsed.</summary>
    public long UnmatchedAnswers => Interlocked.Read(ref _unmatched);

    public Task<EngineRegisterAnswer?> RegisterAsync(string address, CancellationToken cancellationToken) =>
        CallAsync(ChannelMessageType.Register, address, ChannelJsonContext.Default.EngineRegisterAnswer, cancellationToken);

    public Task<EngineQueryAnswer?> QueryAsync(string address, CancellationToken cancellationToken) =>
        CallAsync(ChannelMessageType.Query, address, ChannelJsonContext.Default.EngineQueryAnswer, cancellationToken);

    public Task<EngineDeregisterAnswer?> DeregisterAsync(string address, CancellationToken cancellationToken) =>
        CallAsync(ChannelMessageType.Deregister, address, ChannelJsonContext.Default.EngineDeregisterAnswer, cancellationToken);

    /// <summary>Sends the periodic heartbeat; false when no host is connected.</summary>
    public Task<bool> HeartbeatAsync(CancellationToken cancellationToken) =>
        _link.TrySendAsync(ChannelMessageType.Heartbeat, ReadOnlyMemory<byte>.Empty, cancellationToken);

    public Task HandleAsync(ChannelConnection connection, ChannelMessage message, CancellationToken cancellationToken)
    {
        if (message.Type == ChannelMessageType.EngineDirectoryChanged)
        {
            EngineDirectoryChangedMessage? changed = ChannelConnection.TryParse(message.Payload,
                ChannelJsonContext.Default.EngineDirectoryChangedMessage, out string? error);
            if (changed is null)
            {
                Interlocked.Increment(ref _unmatched);
                return connection.SendErrorAsync("bad-payload", error!, cancellationToken).AsTask();
            }

            DirectoryChanged?.Invoke(changed.Group, changed.DirectoryVersion);
            return Task.CompletedTask;
        }

        long id = ReadId(message.Payload.Span);
        if (id < 0 || !_pending.TryRemove(id, out TaskCompletionSource<ChannelMessage>? waiter))
        {
            Interlocked.Increment(ref _unmatched);
            return Task.CompletedTask;
        }

        waiter.TrySetResult(message);
        return Task.CompletedTask;
    }

    /// <returns>The answer, or null when no host is connected, the host did not answer in time, or the answer was unparsable.</returns>
    private async Task<T?> CallAsync<T>(ChannelMessageType type, string address, JsonTypeInfo<T> answerType, CancellationToken cancellationToken)
        where T : class
    {
        if (_pending.Count >= MaxPending)
        {
            return null;
        }

        long id = Interlocked.Increment(ref _nextId);
        var waiter = new TaskCompletionSource<ChannelMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = waiter;
        try
        {
            byte[] payload = JsonSerializer.SerializeToUtf8Bytes(new EngineAddressRequest(id, address, SuperPackets: type == ChannelMessageType.Register), ChannelJsonContext.Default.EngineAddressRequest);
            if (!await _link.TrySendAsync(type, payload, cancellationToken).ConfigureAwait(false))
            {
                return null;
            }

            ChannelMessage answer;
            try
            {
                answer = await waiter.Task.WaitAsync(AnswerTimeout, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                return null;
            }

            if (answer.Type != type)
            {
                Interlocked.Increment(ref _unmatched);
                return null;
            }

            T? parsed = ChannelConnection.TryParse(answer.Payload, answerType, out _);
            if (parsed is null)
            {
                Interlocked.Increment(ref _unmatched);
            }

            return parsed;
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    /// <summary>Reads the "id" member of an answer without binding the whole object (the type is known only to the waiter).</summary>
    private static long ReadId(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 4 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return -1;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool isId = reader.ValueTextEquals("id"u8);
                if (!reader.Read())
                {
                    return -1;
                }

                if (isId)
                {
                    return reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out long id) ? id : -1;
                }

                reader.Skip();
            }
        }
        catch (JsonException)
        {
            // Malformed answer: counted by the caller as unmatched.
        }

        return -1;
    }
}
