using OverlayKvm.GuestAgent.Pipeline;

namespace OverlayKvm.TestSupport.Doubles;

/// <summary>Adapter double: keeps the last packet written (no allocation once warmed up).</summary>
internal sealed class CapturingSink : IPacketSink
{
    private readonly byte[] _last = new byte[65536];

    public int Count { get; private set; }

    public int LastLength { get; private set; }

    public bool Fail { get; set; }

    public ReadOnlySpan<byte> Last => _last.AsSpan(0, LastLength);

    public bool TryWrite(ReadOnlySpan<byte> packet)
    {
        if (Fail)
        {
            return false;
        }
        packet.CopyTo(_last);
        LastLength = packet.Length;
        Count++;
        return true;
    }
}
