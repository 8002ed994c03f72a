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
    private readonly AgentRequests<AgentCounters> _requests;

    public AgentCounterQueries(string domain)
    {
        _domain = domain;
        _requests = new AgentRequests<AgentCounters>(domain);
    }

    public Task<AgentCounters> AskAsync(ChannelConnection? connection, TimeSpan timeout, CancellationToken cancellationToken) =>
        _requests.AskAsync(connection, static (c, id, ct) => c.WriteJsonAsync(ChannelMessageType.CounterRequest, new AgentCounterRequest(id),
            ChannelJsonContext.Default.AgentCounterRequest, ct), "answer the counter request", timeout, cancellationToken);

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
        if (_requests.Waiter(reply.Id) is not { } answer)
        {
            return _requests.WasAsked(reply.Id) ? null : $"counter report {reply.Id} answers no request";
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
