using System.Net;
using OverlayKvm.GuestAgent.Pipeline;

namespace OverlayKvm.Fuzz.Fixtures;

/// <summary>A group adapter that accepts and drops every packet (no TUN device is needed to fuzz the receive path).</summary>
internal sealed class DiscardingSink : IPacketSink
{
    public long Packets { get; private set; }

    public bool TryWrite(ReadOnlySpan<byte> packet)
    {
        Packets++;
        return true;
    }
}

/// <summary>An underlay that keeps the last frame sent, so a fixture can seal with one agent and feed the other.</summary>
internal sealed class CapturingUnderlay : IFrameSender
{
    private readonly byte[] _last = new byte[70_000];

    public int LastLength { get; private set; }

    public ReadOnlySpan<byte> Last => _last.AsSpan(0, LastLength);

    public bool TrySend(ReadOnlySpan<byte> frame, SocketAddress destination)
    {
        frame.CopyTo(_last);
        LastLength = frame.Length;
        return true;
    }
}
