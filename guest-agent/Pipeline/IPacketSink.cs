namespace OverlayKvm.GuestAgent.Pipeline;

/// <summary>Where a decided packet goes: a group's TUN adapter (delivery into this VM).</summary>
internal interface IPacketSink
{
    /// <summary>Writes one IP packet. Returns false (never throws) when the kernel refused it.</summary>
    bool TryWrite(ReadOnlySpan<byte> packet);
}

/// <summary>Sends sealed frames to another VM.</summary>
internal interface IFrameSender
{
    /// <summary>Returns false (never throws) when the send failed.</summary>
    bool TrySend(ReadOnlySpan<byte> frame, System.Net.SocketAddress destination);
}
