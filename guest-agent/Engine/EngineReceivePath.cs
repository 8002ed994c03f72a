using OverlayKvm.Core.Wire;
using OverlayKvm.GuestAgent.Config;
using OverlayKvm.GuestAgent.Pipeline;
using OverlayKvm.GuestAgent.Policy;

namespace OverlayKvm.GuestAgent.Engine;

/// <summary>
/// Receive stage for a packet taken off a ring (FIG. 10). The ring itself proves the origin: only the VM holding
/// slot <c>fromSlot</c> may write the ring <c>fromSlot → mySlot</c>, and the daemon's query answers say which
/// addresses that slot holds (never the region's slot table: guest-writable, issue 14 item 6). So there is nothing to decrypt; the checks are:
/// 1. the packet is IPv4 and its total length fits what was read → else `malformed`;
/// 2. the group is in the running configuration → else `no-route`;
/// 3. the inner source is a member app of another VM of the group, and the daemon answered that it is at the
///    sending slot → else `spoof` (a VM cannot write as another VM's app); no answer yet → `unverified` and a query;
/// 4. the destination is an app of this VM with a running adapter → else `no-route`;
/// 5. the transmission manager admits the flow, exactly as on the network path → else `denied-ingress`;
/// then the packet is written to the group's TUN. Nothing here allocates, throws, or logs.
/// A record is a bare IPv4 packet, or (from a sender with TUN offloads) a virtio-net header and a TCP/UDP
/// super-packet: told apart by the first byte (a header's flags byte never has 4 in its high nibble). The header
/// comes from another VM, so it is checked like the packet (<see cref="GsoPacket.Check"/>: anything but a GSO
/// super-packet this datapath would build itself is `malformed`), its whole-packet checksum verified (a ring has no
/// checksum of its own: see <see cref="GsoPacket.ChecksumWhole"/>), and the header rebuilt from the checked values
/// before our kernel sees it; an adapter without offloads gets the segments.
/// Plain TCP/UDP packets (from a sender without offloads) go through a <see cref="ReceiveCoalescer"/> as on the
/// sealed path; the engine receive worker calls <see cref="Flush"/> after each ring burst.
/// </summary>
internal sealed class EngineReceivePath
{
    private readonly AgentState _state;
    private readonly DatapathCounters _counters;
    private readonly AdapterTable _adapters;
    private readonly EngineDatapath _engine;
    private readonly TransmissionManager _transmission;
    private readonly ReceiveCoalescer _coalescer;

    public EngineReceivePath(AgentState state, DatapathCounters counters, AdapterTable adapters, EngineDatapath engine, TransmissionManager transmission)
    {
        _coalescer = new ReceiveCoalescer(counters);
        _transmission = transmission;
        _state = state;
        _counters = counters;
        _adapters = adapters;
        _engine = engine;
    }

    public DropReason? Process(EngineAttachment attachment, int fromSlot, Span<byte> record)
    {
        Span<byte> packet = record;
        VirtioNetHeader offload = default;
        if (record.Length > 0 && (record[0] >> 4) != 4)
        {
            packet = record.Slice(Math.Min(VirtioNetHeader.Size, record.Length));
            // The sender checksummed the whole super-packet (GsoPacket.ChecksumWhole): bytes changed in the ring
            // fail here, where our kernel, trusting a NEEDS_CSUM packet, would not look.
            if (!VirtioNetHeader.TryRead(record, out VirtioNetHeader header) || GsoPacket.Check(header, packet, out offload) != GsoCheck.Valid || !offload.IsGso
                || !GsoPacket.TryVerifyWhole(offload, packet))
            {
                return Drop(DropReason.Malformed);
            }
        }

        if (!Ipv4Packet.TryReadAddresses(packet, out uint source, out uint destination) || Ipv4Packet.TotalLength(packet) > packet.Length)
        {
            return Drop(DropReason.Malformed);
        }

        AgentSnapshot? snapshot = _state.Current;
        if (snapshot is null || !snapshot.GroupsById.TryGetValue(attachment.GroupId, out GroupRuntime? group))
        {
            return Drop(DropReason.NoRoute);
        }

        if (!group.Members.TryGetValue(source, out MemberRoute? from) || from.IsLocal)
        {
            return Drop(DropReason.Spoof);
        }

        switch (attachment.CheckSlot(fromSlot, source))
        {
            case SlotClaim.NotOwned:
                return Drop(DropReason.Spoof);
            case SlotClaim.Unverified:
                _engine.RequestRoute(attachment, source);
                return Drop(DropReason.Unverified);
        }

        if (!group.Members.TryGetValue(destination, out MemberRoute? to) || !to.IsLocal || !_adapters.TryGet(group.Id, out IPacketSink sink))
        {
            return Drop(DropReason.NoRoute);
        }

        if (!_transmission.CheckIngress(snapshot, from.Peer!, source, destination, packet))
        {
            return Drop(DropReason.DeniedIngress);
        }

        int length = Ipv4Packet.TotalLength(packet);
        if (offload.IsGso)
        {
            // Segments held for coalescing may be of this flow and precede this super-packet.
            _coalescer.Flush();
        }

        bool written = offload.IsGso
            ? sink.TryWriteOffloaded(record.Slice(0, VirtioNetHeader.Size + length), offload)
            : _coalescer.Deliver(sink, packet.Slice(0, length));
        if (!written)
        {
            return Drop(DropReason.IoError);
        }

        group.Counters.Engine.CountIn(length, offload.IsGso ? GsoPacket.SegmentCount(offload, packet) : 1);
        from.Peer!.Counters.Engine.CountIn(length);
        return null;
    }

    /// <summary>Writes what the coalescer holds; the engine receive worker calls it after every burst.</summary>
    public void Flush() => _coalescer.Flush();

    private DropReason Drop(DropReason reason)
    {
        _counters.Drop(reason);
        _engine.CountRingDrop();
        return reason;
    }
}
