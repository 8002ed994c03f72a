using OverlayKvm.Core.Api;
using OverlayKvm.Core.Channel;
using OverlayKvm.GuestAgent.Control;

namespace OverlayKvm.GuestAgent.Channel;

/// <summary>
/// Answers the host's counter request (R0.10, `overlayctl domain-stat`) with the numbers `overlay-agent stat`
/// shows, from the same <see cref="StatBuilder"/>, so both views agree by construction.
/// </summary>
internal sealed class CounterRequestHandler : IHostChannelHandler
{
    private readonly StatBuilder _stats;

    public CounterRequestHandler(StatBuilder stats) => _stats = stats;

    public IReadOnlyCollection<ChannelMessageType> MessageTypes { get; } = [ChannelMessageType.CounterRequest];

    public async Task HandleAsync(ChannelConnection connection, ChannelMessage message, CancellationToken cancellationToken)
    {
        AgentCounterRequest? request = ChannelConnection.TryParse(message.Payload, ChannelJsonContext.Default.AgentCounterRequest, out string? error);
        if (request is null)
        {
            await connection.SendErrorAsync("bad-payload", $"counter request: {error}", cancellationToken).ConfigureAwait(false);
            return;
        }
        await connection.WriteJsonAsync(ChannelMessageType.CounterReport, new AgentCounterReply(request.Id, ToCounters(_stats.Build()), null),
            ChannelJsonContext.Default.AgentCounterReply, cancellationToken).ConfigureAwait(false);
    }

    internal static AgentCounters ToCounters(StatReport s)
    {
        var groups = new List<AgentGroupCounters>(s.Groups.Count);
        foreach (GroupStat g in s.Groups)
        {
            groups.Add(new AgentGroupCounters(g.Group, ToPath(g.Local), ToPath(g.Engine), ToPath(g.Sealed), g.SendEpoch) { Clear = ToPath(g.Clear) });
        }
        var adapters = new List<AgentAdapterCounters>(s.Adapters.Count);
        foreach (AdapterStat a in s.Adapters)
        {
            adapters.Add(new AgentAdapterCounters(a.Device, a.Group, a.Count, a.Apps));
        }
        AgentTransmissionCounters? transmission = s.Transmission is { } t
            ? new AgentTransmissionCounters(t.Counters, t.EgressRules, t.IngressRules, t.Pending, t.Policies)
            : null;
        AgentEngineCounters? engine = s.Engine is { } e ? new AgentEngineCounters(e.Fallbacks, e.RingDrops) : null;
        var peers = new List<AgentPeerCounters>(s.Peers.Count);
        foreach (PeerStat p in s.Peers)
        {
            if (peers.Count == AgentCountersRules.MaxPeers)
            {
                break; // overlayd refuses a longer reply whole; the first peers (by name) are better than none
            }
            peers.Add(new AgentPeerCounters(p.Domain, ToPath(p.Engine), ToPath(p.Sealed)));
        }
        return new AgentCounters(s.Domain, s.ConfigVersion, groups, s.Drops, transmission, engine, adapters) { Peers = peers };
    }

    private static AgentPathCounters ToPath(PathStat p) => new(p.PacketsIn, p.BytesIn, p.PacketsOut, p.BytesOut);
}
