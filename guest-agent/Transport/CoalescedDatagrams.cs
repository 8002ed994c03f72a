using OverlayKvm.Core.Wire;
using OverlayKvm.GuestAgent.Pipeline;

namespace OverlayKvm.GuestAgent.Transport;

/// <summary>
/// Splits what one receive slot holds into frames: a single datagram, or (UDP_GRO) datagrams the kernel joined,
/// each <c>segmentSize</c> bytes but the last. The size comes from our kernel, yet is checked like input: one that
/// cannot hold a frame header and one byte (0 is "not coalesced") makes the whole buffer a counted `malformed` drop, a
/// short tail is a frame like any other (the receive path drops it if it is not one).
/// </summary>
internal static class CoalescedDatagrams
{
    /// <summary>Smallest frame a sender builds: the header and at least one byte (a clear frame on a trusted segment has no tag).</summary>
    public const int MinFrame = SealedFrameHeader.Size + 1;

    public static void Process(ReceivePath receive, DatapathCounters counters, Span<byte> buffer, int segmentSize, uint source)
    {
        if (segmentSize == 0 || segmentSize >= buffer.Length)
        {
            receive.Process(buffer, source);
            return;
        }
        if (segmentSize < MinFrame)
        {
            counters.Drop(DropReason.Malformed);
            return;
        }
        for (int offset = 0; offset < buffer.Length; offset += segmentSize)
        {
            receive.Process(buffer.Slice(offset, Math.Min(segmentSize, buffer.Length - offset)), source);
        }
    }
}
