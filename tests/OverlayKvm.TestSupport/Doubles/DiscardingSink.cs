using OverlayKvm.GuestAgent.Pipeline;

namespace OverlayKvm.TestSupport.Doubles;

/// <summary>
/// A group adapter that accepts and drops every packet: no TUN device is needed to fuzz or time the receive path,
/// and it costs the timed loop one increment (no copy, no allocation).
/// </summary>
internal sealed class DiscardingSink : IPacketSink
{
    public long Packets { get; private set; }

    public bool TryWrite(ReadOnlySpan<byte> packet)
    {
        Packets++;
        return true;
    }
}
