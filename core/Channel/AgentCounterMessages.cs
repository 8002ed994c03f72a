using OverlayKvm.Core.Api;

namespace OverlayKvm.Core.Channel;

/// <summary>Host → agent: send your counters (<see cref="ChannelMessageType.CounterRequest"/>).</summary>
/// <param name="Id">Chosen by the host, echoed in the reply.</param>
internal sealed record AgentCounterRequest(long Id);

/// <summary>Agent → host (<see cref="ChannelMessageType.CounterReport"/>): the counters, or why there are none.</summary>
internal sealed record AgentCounterReply(long Id, AgentCounters? Counters, string? Error);
