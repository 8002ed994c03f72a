using OverlayKvm.Core.Wire;
using OverlayKvm.GuestAgent.Pipeline;

namespace OverlayKvm.GuestAgent.Tests.Doubles;

/// <summary>Adapter double with offloads: keeps every write in order, a super-packet with its virtio-net header.</summary>
internal sealed class OffloadingSink : IPacketSink
{
    public OffloadingSink(bool tcp = true, bool udp = true)
    {
        AcceptsTcpSuperPackets = tcp;
        AcceptsUdpSuperPackets = udp;
    }

    public bool AcceptsTcpSuperPackets { get; }

    public bool AcceptsUdpSuperPackets { get; }

    public bool Fail { get; set; }

    public List<(VirtioNetHeader? Header, byte[] Packet)> Writes { get; } = [];

    public bool TryWrite(ReadOnlySpan<byte> packet)
    {
        if (Fail)
        {
            return false;
        }

        Writes.Add((null, packet.ToArray()));
        return true;
    }

    public bool TryWriteOffloaded(Span<byte> headerAndPacket, in VirtioNetHeader header)
    {
        if (Fail)
        {
            return false;
        }

        Assert.True(VirtioNetHeader.TryRead(headerAndPacket, out _));
        Writes.Add((header, headerAndPacket.Slice(VirtioNetHeader.Size).ToArray()));
        return true;
    }
}
