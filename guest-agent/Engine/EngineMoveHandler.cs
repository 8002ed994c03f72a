using Microsoft.Extensions.Logging;
using OverlayKvm.Core.Channel;
using OverlayKvm.GuestAgent.Channel;

namespace OverlayKvm.GuestAgent.Engine;

/// <summary>
/// Answers the host's <see cref="ChannelMessageType.EngineLeave"/> (unmap the regions, they are about to be unplugged)
/// and takes its <see cref="ChannelMessageType.EngineJoin"/> (regions plugged in: attach again). A leave takes the
/// attachments' retire grace (seconds), so it runs beside the channel's read loop, which keeps serving the engine's
/// answers meanwhile; the reply goes out when nothing is mapped. Without an engine (<c>--no-engine</c>) nothing is
/// ever mapped: a leave is answered at once with nothing unmapped. Payloads are validated like any host message.
/// </summary>
internal sealed partial class EngineMoveHandler : IHostChannelHandler
{
    private readonly IEngineMoves? _moves;
    private readonly ILogger _logger;

    public EngineMoveHandler(IEngineMoves? moves, ILogger<EngineMoveHandler> logger)
    {
        _moves = moves;
        _logger = logger;
    }

    public IReadOnlyCollection<ChannelMessageType> MessageTypes { get; } = [ChannelMessageType.EngineLeave, ChannelMessageType.EngineJoin];

    public async Task HandleAsync(ChannelConnection connection, ChannelMessage message, CancellationToken cancellationToken)
    {
        if (message.Type == ChannelMessageType.EngineJoin)
        {
            EngineJoinNotice? join = ChannelConnection.TryParse(message.Payload, ChannelJsonContext.Default.EngineJoinNotice, out string? joinError);
            if (join is null)
            {
                await connection.SendErrorAsync("bad-payload", $"engine join: {joinError}", cancellationToken).ConfigureAwait(false);
                return;
            }

            _moves?.Join();
            return;
        }

        EngineLeaveRequest? leave = ChannelConnection.TryParse(message.Payload, ChannelJsonContext.Default.EngineLeaveRequest, out string? error);
        if (leave is null || leave.Id < 0)
        {
            await connection.SendErrorAsync("bad-payload", $"engine leave: {error ?? "negative id"}", cancellationToken).ConfigureAwait(false);
            return;
        }

        if (_moves is null)
        {
            await Reply(connection, new EngineLeaveReply(leave.Id, true, 0, null), cancellationToken).ConfigureAwait(false);
            return;
        }

        _ = ReplyWhenLeftAsync(connection, leave.Id, cancellationToken);
    }

    private async Task ReplyWhenLeftAsync(ChannelConnection connection, long id, CancellationToken cancellationToken)
    {
        int unmapped = await _moves!.LeaveAsync().ConfigureAwait(false);
        try
        {
            await Reply(connection, new EngineLeaveReply(id, true, unmapped, null), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException)
        {
            // The channel went while unmapping: the regions are unmapped all the same; the host that asked sees no
            // reply and decides (domain-migrate refuses without --force), and a join re-enables attaching.
            Log.ReplyLost(_logger, id, ex.Message);
        }
    }

    private static ValueTask Reply(ChannelConnection connection, EngineLeaveReply reply, CancellationToken cancellationToken) =>
        connection.WriteJsonAsync(ChannelMessageType.EngineLeave, reply, ChannelJsonContext.Default.EngineLeaveReply, cancellationToken);

    private static partial class Log
    {
        [LoggerMessage(58, LogLevel.Warning, "engine leave {Id}: regions unmapped but the reply could not be sent: {Reason}")]
        public static partial void ReplyLost(ILogger logger, long id, string reason);
    }
}
