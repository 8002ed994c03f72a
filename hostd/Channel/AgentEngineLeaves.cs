using System.Collections.Concurrent;
using OverlayKvm.Core.Channel;

namespace OverlayKvm.HostDaemon.Channel;

/// <summary>
/// Engine leaves of one domain channel in flight (docs/migration.md): sends EngineLeave with a fresh id and completes
/// it with the agent's reply of the same id. The reply is untrusted: size-bounded before parsing, matched by id, its
/// free text clipped; only a reply that says it left counts as left.
/// </summary>
internal sealed class AgentEngineLeaves
{
    /// <summary>A reply is an id, a flag, a count and a short reason: anything larger is refused unread.</summary>
    public const int MaxReplyBytes = 4096;

    private readonly string _domain;
    private readonly ConcurrentDictionary<long, TaskCompletionSource<EngineLeaveReply>> _pending = new();
    private long _nextId;

    public AgentEngineLeaves(string domain) => _domain = domain;

    /// <summary>Asks the agent to unmap its regions; returns its reply (Left true) or throws <see cref="AgentUnavailableException"/>.</summary>
    /// <param name="sent">Runs once the request is written (the agent stops registering when it reads it).</param>
    public async Task<EngineLeaveReply> AskAsync(ChannelConnection? connection, TimeSpan timeout, CancellationToken cancellationToken, Action? sent = null)
    {
        if (connection is null)
        {
            throw new AgentUnavailableException($"domain {_domain}: its agent is not connected to the host channel, so it cannot confirm it unmapped the engine regions");
        }

        long id = Interlocked.Increment(ref _nextId);
        var answer = new TaskCompletionSource<EngineLeaveReply>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = answer;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            await connection.WriteJsonAsync(ChannelMessageType.EngineLeave, new EngineLeaveRequest(id),
                ChannelJsonContext.Default.EngineLeaveRequest, deadline.Token).ConfigureAwait(false);
            sent?.Invoke();
            EngineLeaveReply reply = await answer.Task.WaitAsync(deadline.Token).ConfigureAwait(false);
            if (!reply.Left)
            {
                throw new AgentUnavailableException($"domain {_domain}: the agent did not leave the engine: {GuestText.Bounded(reply.Error)}");
            }
            return reply;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new AgentUnavailableException($"domain {_domain}: the agent did not confirm within {timeout.TotalSeconds:0.#} s that it unmapped the engine regions");
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            throw new AgentUnavailableException($"domain {_domain}: the host channel closed while the agent was leaving the engine ({ex.Message})");
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    /// <summary>Takes an EngineLeave payload from the agent; returns null when accepted, else why it was refused (the caller counts it).</summary>
    public string? Complete(ReadOnlyMemory<byte> payload)
    {
        if (payload.Length > MaxReplyBytes)
        {
            return $"engine leave reply of {payload.Length} bytes, at most {MaxReplyBytes}";
        }
        EngineLeaveReply? reply = ChannelConnection.TryParse(payload, ChannelJsonContext.Default.EngineLeaveReply, out string? error);
        if (reply is null)
        {
            return $"engine leave reply: {error}";
        }
        if (reply.Unmapped < 0)
        {
            return $"engine leave reply {reply.Id}: negative count {reply.Unmapped}";
        }
        if (!_pending.TryGetValue(reply.Id, out var answer))
        {
            return $"engine leave reply {reply.Id} answers no request";
        }
        answer.TrySetResult(reply);
        return null;
    }
}
