namespace OverlayKvm.Core.Channel;

/// <summary>The peer broke the framing (oversized or truncated message): the channel cannot continue.</summary>
internal sealed class ChannelProtocolException : IOException
{
    public ChannelProtocolException(string message)
        : base(message)
    {
    }
}
