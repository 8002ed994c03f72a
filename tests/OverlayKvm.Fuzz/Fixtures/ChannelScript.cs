using OverlayKvm.Core.Channel;

namespace OverlayKvm.Fuzz.Fixtures;

/// <summary>
/// Plays the input as the byte stream one party writes on the host channel: frames are read by the production
/// <see cref="ChannelConnection"/> and each message is handed to the receiving side's handler, in order, until the
/// stream ends. A framing violation (<see cref="ChannelProtocolException"/>) ends the channel in production too; the
/// targets count it as a rejection.
/// </summary>
internal static class ChannelScript
{
    /// <summary>Upper bound of a message in the targets: a small multiple of what afl-fuzz generates, far below production's 1 MiB.</summary>
    private const int MaxMessageSize = 64 * 1024;

    public static void Play(ReadOnlySpan<byte> input, Func<ChannelConnection, ChannelMessage, Task> handle)
    {
        var connection = new ChannelConnection(new ScriptedStream(input.ToArray()), MaxMessageSize);
        while (connection.ReadAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult() is { } message)
        {
            handle(connection, message).GetAwaiter().GetResult();
        }
    }
}
