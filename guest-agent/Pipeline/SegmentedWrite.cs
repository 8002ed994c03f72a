using OverlayKvm.Core.Wire;

namespace OverlayKvm.GuestAgent.Pipeline;

/// <summary>
/// Delivers a super-packet to a sink that takes plain packets only (an adapter without offloads, a test double):
/// segment by segment through a per-thread buffer. The threads that deliver (UDP receive, engine receive, the TUN
/// workers' local path) are long-lived, so each allocates its buffer once.
/// </summary>
internal static class SegmentedWrite
{
    [ThreadStatic]
    private static byte[]? t_segment;

    /// <summary>False when any segment was refused (or did not fit); the rest are still written.</summary>
    public static bool TryWrite(IPacketSink sink, in VirtioNetHeader header, ReadOnlySpan<byte> packet)
    {
        byte[] segment = t_segment ??= GC.AllocateUninitializedArray<byte>(65536, pinned: true);
        int count = GsoPacket.SegmentCount(header, packet);
        bool ok = true;
        for (int i = 0; i < count; i++)
        {
            int n = GsoPacket.WriteSegment(header, packet, i, segment);
            ok &= n > 0 && sink.TryWrite(segment.AsSpan(0, n));
        }

        return ok;
    }
}
