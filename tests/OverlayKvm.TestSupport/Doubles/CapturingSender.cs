using System.Net;
using OverlayKvm.GuestAgent.Pipeline;

namespace OverlayKvm.TestSupport.Doubles;

/// <summary>
/// UDP double: keeps the last frame and where it was sent, so a test or fixture can seal with one agent and feed
/// the other. The buffer is pinned and sized past the largest frame (64 KiB payload + header + tag), so the bench
/// can time the send path through it without allocation.
/// </summary>
internal sealed class CapturingSender : IFrameSender
{
    private readonly byte[] _last = GC.AllocateArray<byte>(70_000, pinned: true);

    public int Count { get; private set; }

    public int LastLength { get; private set; }

    public SocketAddress? LastDestination { get; private set; }

    /// <summary>Writable: the receive path opens a sealed frame in place, and the bench hands it this frame as is.</summary>
    public Span<byte> Last => _last.AsSpan(0, LastLength);

    public byte[] LastFrame() => Last.ToArray();

    public bool TrySend(ReadOnlySpan<byte> frame, SocketAddress destination)
    {
        frame.CopyTo(_last);
        LastLength = frame.Length;
        LastDestination = destination;
        Count++;
        return true;
    }
}
