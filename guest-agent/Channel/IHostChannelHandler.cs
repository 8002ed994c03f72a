using OverlayKvm.Core.Channel;

namespace OverlayKvm.GuestAgent.Channel;

/// <summary>
/// Extension point for messages the agent's channel core does not handle itself (e.g. the acceleration engine's
/// register/query answers). Register implementations in DI; <see cref="HostChannelService"/> offers every message
/// of a type in <see cref="MessageTypes"/> to them before answering "unknown-type".
/// </summary>
internal interface IHostChannelHandler
{
    IReadOnlyCollection<ChannelMessageType> MessageTypes { get; }

    /// <summary>Handles one message; may answer through connection. Exceptions are reported to the host as errors.</summary>
    Task HandleAsync(ChannelConnection connection, ChannelMessage message, CancellationToken cancellationToken);
}
