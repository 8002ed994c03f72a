using OverlayKvm.Core.Channel;

namespace OverlayKvm.GuestAgent.Channel;

/// <summary>
/// Lets other agent services send to the host ("hypercalls" such as the engine's register request) over the
/// current channel connection, if there is one. Set by <see cref="HostChannelService"/> while connected.
/// </summary>
internal sealed class HostChannelLink
{
    private ChannelConnection? _current;

    public bool IsConnected => Volatile.Read(ref _current) is not null;

    /// <summary>Sends a message; returns false when no host is connected (the caller decides whether to retry).</summary>
    public async Task<bool> TrySendAsync(ChannelMessageType type, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        ChannelConnection? connection = Volatile.Read(ref _current);
        if (connection is null)
        {
            return false;
        }
        try
        {
            await connection.WriteAsync(type, payload, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (IOException)
        {
            return false;
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
    }

    internal void Attach(ChannelConnection? connection) => Volatile.Write(ref _current, connection);
}
