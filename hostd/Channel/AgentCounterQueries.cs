using System.Collections.Concurrent;
using OverlayKvm.Core.Api;
using OverlayKvm.Core.Channel;

namespace OverlayKvm.HostDaemon.Channel;

/// <summary>
/// Counter requests of one domain channel in flight: sends CounterRequest with a fresh id and completes it with
/// the agent's CounterReport of the same id. The reply is untrusted: size-bounded before parsing, checked by
/// <see cref="AgentCountersRules"/>, and its domain replaced by the channel's (the channel names the VM).
/// </summary>
internal sealed class AgentCounterQueries
{
    private readonly string _domain;
    private readonly ConcurrentDictionary<long, TaskCompletionSource<AgentCounters>> _pending = new();
    private long _nextId;

    public AgentCounterQueries(string domain) => _domain = domain;

    public async Task<AgentCounters> AskAsync(ChannelConnection? connection, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (connection is null)
        {
            throw new AgentUnavailableException($"domain {_domain}: its agent is not connected to the host channel");
        }
        long id = Interlocked.Increment(ref _nextId);
        var answer = new TaskCompletionSource<AgentCounters>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = answer;
        // One deadline for the write and the answer: a guest that stops reading must not hold the API call (or the
        // channel's write lock) longer than the timeout either.
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            await connection.WriteJsonAsync(ChannelMessageType.CounterRequest, new AgentCounterRequest(id),
                ChannelJsonContext.Default.AgentCounterRequest, deadline.Token).ConfigureAwait(false);
            return await answer.Task.WaitAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new AgentUnavailableException($"domain {_domain}: the agent did not answer the counter request within {timeout.TotalSeconds:0.#} s");
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            throw new AgentUnavailableException($"domain {_domain}: the host channel closed while asking for counters ({ex.Message})");
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    /// <summary>Takes a CounterReport payload; returns null when accepted, else why it was refused (the caller counts it).</summary>
    public string? Complete(ReadOnlyMemory<byte> payload)
    {
        if (payload.Length > AgentCountersRules.MaxReplyBytes)
        {
            return $"counter report of {payload.Length} bytes, at most {AgentCountersRules.MaxReplyBytes}";
        }
        AgentCounterReply? reply = ChannelConnection.TryParse(payload, ChannelJsonContext.Default.AgentCounterReply, out string? error);
        if (reply is null)
        {
            return $"counter report: {error}";
        }
        if (!_pending.TryGetValue(reply.Id, out var answer))
        {
            return $"counter report {reply.Id} answers no request";
        }
        if (reply.Counters is null)
        {
            answer.TrySetException(new AgentUnavailableException($"domain {_domain}: the agent has no counters: {Clip(reply.Error)}"));
            return null;
        }
        if (AgentCountersRules.Check(reply.Counters) is { } problem)
        {
            answer.TrySetException(new AgentUnavailableException($"domain {_domain}: the agent's counters were refused: {problem}"));
            return $"counter report refused: {problem}";
        }
        answer.TrySetResult(reply.Counters with { Domain = _domain });
        return null;
    }

    private static string Clip(string? s) => s is null ? "(no reason)" : s.Length > 200 ? s[..200] + "..." : s;
}
