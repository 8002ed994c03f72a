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
    private readonly AgentRequests<EngineLeaveReply> _requests;

    public AgentEngineLeaves(string domain)
    {
        _domain = domain;
        _requests = new AgentRequests<EngineLeaveReply>(domain);
    }

    /// <summary>Asks the agent to unmap its regions; returns its reply (Left true) or throws <see cref="AgentUnavailableException"/>.</summary>
    /// <param name="sent">Runs once the request is written (the agent stops registering when it reads it).</param>
    public async Task<EngineLeaveReply> AskAsync(ChannelConnection? connection, TimeSpan timeout, CancellationToken cancellationToken, Action? sent = null)
    {
        EngineLeaveReply reply = await _requests.AskAsync(connection, static (c, id, ct) => c.WriteJsonAsync(ChannelMessageType.EngineLeave,
            new EngineLeaveRequest(id), ChannelJsonContext.Default.EngineLeaveRequest, ct), "confirm that it unmapped the engine regions",
            timeout, cancellationToken, sent).ConfigureAwait(false);
        if (!reply.Left)
        {
            throw new AgentUnavailableException($"domain {_domain}: the agent did not leave the engine: {GuestText.Bounded(reply.Error)}");
        }
        return reply;
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
        if (_requests.Waiter(reply.Id) is not { } answer)
        {
            return _requests.WasAsked(reply.Id) ? null : $"engine leave reply {reply.Id} answers no request";
        }
        answer.TrySetResult(reply);
        return null;
    }
}
