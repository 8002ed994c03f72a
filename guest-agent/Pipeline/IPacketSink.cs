using OverlayKvm.Core.Wire;

namespace OverlayKvm.GuestAgent.Pipeline;

/// <summary>Where a decided packet goes: a group's TUN adapter (delivery into this VM).</summary>
internal interface IPacketSink
{
    /// <summary>Writes one IP packet, checksums complete. Returns false (never throws) when the kernel refused it.</summary>
    bool TryWrite(ReadOnlySpan<byte> packet);

    /// <summary>
    /// Writes a super-packet (a TCP/UDP packet of up to 64 KiB with a partial checksum) whose
    /// <see cref="GsoPacket.Check"/>ed, normalized header <paramref name="header"/> goes in the first
    /// <see cref="VirtioNetHeader.Size"/> bytes of <paramref name="headerAndPacket"/>. A device with offloads takes it
    /// in one write; anything else gets the segments, one <see cref="TryWrite"/> each.
    /// </summary>
    bool TryWriteOffloaded(Span<byte> headerAndPacket, in VirtioNetHeader header) =>
        SegmentedWrite.TryWrite(this, header, headerAndPacket.Slice(VirtioNetHeader.Size));

    /// <summary>True when a TCP super-packet reaches the kernel whole (a device with offloads): only then does
    /// <see cref="ReceiveCoalescer"/> join received segments for it; segmenting them again would gain nothing.</summary>
    bool AcceptsTcpSuperPackets => false;

    /// <summary>The same for UDP super-packets (GSO_UDP_L4: a device whose kernel took USO).</summary>
    bool AcceptsUdpSuperPackets => false;
}

/// <summary>Sends sealed frames to another VM.</summary>
internal interface IFrameSender
{
    /// <summary>Returns false (never throws) when the send failed.</summary>
    bool TrySend(ReadOnlySpan<byte> frame, System.Net.SocketAddress destination);
}
