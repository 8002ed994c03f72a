using System.Collections.Concurrent;
using OverlayKvm.Core.Channel;

namespace OverlayKvm.HostDaemon.Channel;

/// <summary>
/// Requests overlayd sends to one domain's agent and the replies it waits for (counters, engine leave): each request
/// gets a fresh id, one deadline bounds both the write and the wait (a guest that stops reading must not hold the
/// caller, or the channel's write lock, longer), and a reply completes only the request of its id. What the reply
/// holds is checked by the caller before it completes anything.
/// </summary>
internal sealed class AgentRequests<T>(string domain)
{
    private readonly ConcurrentDictionary<long, TaskCompletionSource<T>> _pending = new();
    private long _nextId;

    /// <param name="send">Writes the request with the given id.</param>
    /// <param name="what">What the agent is asked, for the failure messages, e.g. "answer the counter request".</param>
    public async Task<T> AskAsync(ChannelConnection? connection, Func<ChannelConnection, long, CancellationToken, ValueTask> send, string what,
        TimeSpan timeout, CancellationToken cancellationToken, Action? sent = null)
    {
        if (connection is null)
        {
            throw new AgentUnavailableException($"domain {domain}: its agent is not connected to the host channel, so it cannot {what}");
        }
        long id = Interlocked.Increment(ref _nextId);
        var answer = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = answer;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            await send(connection, id, deadline.Token).ConfigureAwait(false);
            sent?.Invoke();
            return await answer.Task.WaitAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new AgentUnavailableException($"domain {domain}: the agent did not {what} within {timeout.TotalSeconds:0.#} s");
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            throw new AgentUnavailableException($"domain {domain}: the host channel closed before the agent could {what} ({ex.Message})");
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    /// <summary>The waiter of request <paramref name="id"/>, or null when no request of that id is outstanding.</summary>
    public TaskCompletionSource<T>? Waiter(long id) => _pending.GetValueOrDefault(id);

    /// <summary>
    /// Whether this side ever sent request <paramref name="id"/>. A reply to such a request that nobody waits for any
    /// more came after its deadline (a guest slowed down while it boots or migrates): late, not hostile, and dropped
    /// without counting the channel's peer as misbehaving. A reply to an id never sent still is refused.
    /// </summary>
    public bool WasAsked(long id) => id > 0 && id <= Interlocked.Read(ref _nextId);
}
