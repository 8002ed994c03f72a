namespace OverlayKvm.Core.Channel;

/// <summary>One received message: its type byte (possibly unknown) and payload.</summary>
internal readonly record struct ChannelMessage(ChannelMessageType Type, ReadOnlyMemory<byte> Payload);
