using OverlayKvm.Core.Wire;
using OverlayKvm.GuestAgent.Config;
using OverlayKvm.GuestAgent.Engine;
using OverlayKvm.GuestAgent.Policy;

namespace OverlayKvm.GuestAgent.Pipeline;

/// <summary>
/// Send stage, run by a group's TUN worker for each packet an app of this VM sent into the group's adapter:
/// 1. the packet sits in the worker's buffer after <see cref="SealedFrameHeader.Size"/> bytes of headroom, with
///    room for the tag after it, so sealing happens in place;
/// 2. the inner source must be an app of this VM in this group (a local process cannot use the adapter to
///    impersonate another member) → else `spoof`;
/// 3. the destination must be in the directory (a member of this VM's groups or of a group policy relates to
///    them) → else `no-route`, and overlayd is asked for it (<see cref="Channel.DirectoryLookups"/>: the next packet
///    finds the route if the directory has one this VM may know);
/// 4. the transmission manager decides (seed 004: sender-side enforcement first, R4.23): deny → `denied-egress`,
///    nothing leaves the VM; waiting for a negotiation → held in the flow's queue (or `pending`);
/// 5. the destination's route, as the directory decided it and the document carries it (<see cref="RoutePlan"/>), is
///    carried out; this class has no rule of its own for choosing a path:
///    - local: written back to the destination group's adapter in clear;
///    - engine (same group, same host): the acceleration engine (FIG. 9) when it holds a current "accessible" answer
///      for the destination → written in clear to the shared-memory ring, never on a network; otherwise the route's
///      fallback (seed 000 R0.14). A packet from another of this VM's groups never uses the engine (its region is per group);
///    - clear (trusted segment): encapsulated with group id and sender, no key, sent by UDP;
///    - sealed / authenticated: with the destination group's newest key (for a neighbor group: the key derived for
///      this VM), sent by UDP to that VM;
///    - drop: counted as `no-route`.
/// Nothing here allocates, throws, or logs.
/// </summary>
internal sealed class SendPath
{
    private readonly AgentState _state;
    private readonly DatapathCounters _counters;
    private readonly IFrameSender _sender;
    private readonly AdapterTable _adapters;
    private readonly TransmissionManager _transmission;
    private readonly EngineDatapath? _engine;
    private readonly Channel.DirectoryLookups? _lookups;

    public SendPath(AgentState state, DatapathCounters counters, IFrameSender sender, AdapterTable adapters, TransmissionManager transmission, EngineDatapath? engine = null,
        Channel.DirectoryLookups? lookups = null)
    {
        _lookups = lookups;
        _engine = engine;
        _state = state;
        _counters = counters;
        _sender = sender;
        _adapters = adapters;
        _transmission = transmission;
    }

    /// <param name="groupId">Group of the adapter the packet came from.</param>
    /// <param name="buffer">Headroom, then the packet (packetLength bytes), then at least a tag's worth of room.</param>
    public DropReason? Process(uint groupId, Span<byte> buffer, int packetLength) => Process(groupId, buffer, packetLength, _sender);

    /// <summary>Where a worker without a batch sends (the UDP transport).</summary>
    public IFrameSender DefaultSender => _sender;

    /// <param name="sender">Where sealed frames go: the UDP transport, or a worker's batch (sendmmsg).</param>
    public DropReason? Process(uint groupId, Span<byte> buffer, int packetLength, IFrameSender sender) =>
        Process(groupId, buffer, packetLength, sender, default, default);

    /// <summary>
    /// A packet read from an adapter with offloads: <paramref name="offload"/> is its <see cref="GsoPacket.Check"/>ed,
    /// normalized header, a GSO one (a GSO_NONE packet's checksum was completed by the reader, it comes as plain).
    /// The policy decides once for the super-packet; the local and engine paths carry it whole with its header (written
    /// into the <see cref="VirtioNetHeader.Size"/> bytes before the packet); the network paths get its segments.
    /// </summary>
    /// <param name="scratch">The worker's buffer of two <see cref="SegmentScratchSize"/> halves: the super-packet is
    /// copied to the first (the batch slot it was read into becomes the first segment's), segments go to the batch's
    /// slots or, without a batch, to the second half.</param>
    public DropReason? Process(uint groupId, Span<byte> buffer, int packetLength, IFrameSender sender, in VirtioNetHeader offload, Span<byte> scratch)
    {
        AgentSnapshot? snapshot = _state.Current;
        if (snapshot is null || !snapshot.GroupsById.TryGetValue(groupId, out GroupRuntime? group))
        {
            return Drop(DropReason.NoRoute);
        }
        Span<byte> packet = buffer.Slice(SealedFrameHeader.Size, packetLength);
        if (!Ipv4Packet.TryReadAddresses(packet, out uint source, out uint destination))
        {
            return Drop(DropReason.Malformed);
        }
        if (!group.Members.TryGetValue(source, out MemberRoute? from) || !from.IsLocal)
        {
            return Drop(DropReason.Spoof);
        }
        if (!snapshot.Directory.TryGetValue(destination, out DirectoryRoute? to))
        {
            // Not in the document: ask the directory (rate-limited, answers cached), this packet is dropped.
            _lookups?.OnMiss(destination);
            return Drop(DropReason.NoRoute);
        }
        switch (_transmission.CheckEgress(snapshot, to, source, destination, packet))
        {
            case Admission.Allow:
                break;
            case Admission.Queued:
                return null;
            case Admission.Deny:
                return Drop(DropReason.DeniedEgress);
            default:
                return Drop(DropReason.Pending);
        }
        int segments = offload.IsGso ? GsoPacket.SegmentCount(offload, packet) : 1;
        Span<byte> withHeader = offload.IsGso ? buffer.Slice(SealedFrameHeader.Size - VirtioNetHeader.Size, VirtioNetHeader.Size + packetLength) : default;
        if (offload.IsGso)
        {
            offload.Write(withHeader);
        }
        RoutePlan plan = ReferenceEquals(to.Group, group) ? to.Member.Plan : to.Member.CrossGroupPlan;
        if (plan == RoutePlan.Local)
        {
            if (!_adapters.TryGet(to.Group.Id, out IPacketSink sink))
            {
                return Drop(DropReason.NoRoute);
            }
            if (!(offload.IsGso ? sink.TryWriteOffloaded(withHeader, offload) : sink.TryWrite(packet)))
            {
                return Drop(DropReason.IoError);
            }
            group.Counters.Local.CountOut(packetLength, segments);
            to.Group.Counters.Local.CountIn(packetLength, segments);
            return null;
        }
        bool viaEngine = false;
        if (plan == RoutePlan.Engine)
        {
            // A super-packet travels as one ring record, its header first (the receiver tells a header from a bare
            // IPv4 packet by the first byte: a header's flags byte never has version 4 in its high nibble). One larger
            // than the region's largest record (a small region) goes through the ring as segments.
            // An agent from before super-packets (mixed versions during an upgrade) gets the segments instead.
            bool whole = offload.IsGso && _engine is not null && _engine.TakesWhole(group, destination, withHeader.Length);
            if (whole)
            {
                GsoPacket.ChecksumWhole(offload, packet);
            }
            if (_engine is not null && (!offload.IsGso || whole) && _engine.TrySend(group, destination, offload.IsGso ? withHeader : packet))
            {
                group.Counters.Engine.CountOut(packetLength, segments);
                to.Member.Peer!.Counters.Engine.CountOut(packetLength);
                return null;
            }
            viaEngine = _engine is not null && offload.IsGso && !whole;
            plan = to.Member.Fallback;
        }
        if (!offload.IsGso)
        {
            return SendOverNetwork(plan, snapshot, group, to, buffer, packetLength, sender);
        }
        return SendSegments(plan, viaEngine, snapshot, group, to, destination, packet, offload, segments, sender, scratch);
    }

    /// <summary>Size of each half of a worker's segmentation scratch: headroom, the largest IP packet, the tag.</summary>
    public const int SegmentScratchSize = SealedFrameHeader.Size + 65535 + SealedFrameHeader.MaxTagSize;

    /// <summary>
    /// The network paths cannot carry a super-packet: each segment is built with headroom and sealed in place. With
    /// <paramref name="viaEngine"/> segments go to the ring first, and from the first refusal on take the
    /// fallback <paramref name="plan"/> as a single packet would.
    /// </summary>
    private DropReason? SendSegments(RoutePlan plan, bool viaEngine, AgentSnapshot snapshot, GroupRuntime group, DirectoryRoute to, uint destination, Span<byte> packet,
        in VirtioNetHeader offload, int segments, IFrameSender sender, Span<byte> scratch)
    {
        if (scratch.Length < 2 * SegmentScratchSize)
        {
            return Drop(DropReason.Malformed);
        }
        Span<byte> super = scratch.Slice(0, packet.Length);
        packet.CopyTo(super);
        var batch = sender as Transport.BatchFrameSender;
        DropReason? result = null;
        for (int i = 0; i < segments; i++)
        {
            Span<byte> slot = batch is null ? scratch.Slice(SegmentScratchSize, SegmentScratchSize) : batch.NextSlot;
            int n = GsoPacket.WriteSegment(offload, super, i, slot.Slice(SealedFrameHeader.Size, slot.Length - SealedFrameHeader.Size - SealedFrameHeader.MaxTagSize));
            if (n < 0)
            {
                result = Drop(DropReason.Malformed);
                continue;
            }
            if (viaEngine)
            {
                if (_engine!.TrySend(group, destination, slot.Slice(SealedFrameHeader.Size, n)))
                {
                    group.Counters.Engine.CountOut(n);
                    to.Member.Peer!.Counters.Engine.CountOut(n);
                    continue;
                }
                viaEngine = false;
            }
            result = SendOverNetwork(plan, snapshot, group, to, slot, n, sender) ?? result;
            if (batch is not null && batch.IsFull)
            {
                batch.Flush();
            }
        }
        return result;
    }

    /// <summary>The clear, sealed and authenticated paths for one wire-sized packet after the headroom of <paramref name="buffer"/>.</summary>
    private DropReason? SendOverNetwork(RoutePlan plan, AgentSnapshot snapshot, GroupRuntime group, DirectoryRoute to, Span<byte> buffer, int packetLength, IFrameSender sender)
    {
        if (plan == RoutePlan.Clear)
        {
            var clear = new SealedFrameHeader(FrameType.ClearData, to.Group.Id, 0, snapshot.SenderIndex, 0, 0);
            clear.TryWrite(buffer);
            if (!sender.TrySend(buffer.Slice(0, SealedFrameHeader.Size + packetLength), to.Member.Peer!.SocketAddress))
            {
                return Drop(DropReason.IoError);
            }
            group.Counters.Clear.CountOut(packetLength);
            to.Member.Peer!.Counters.Sealed.CountOut(packetLength);
            return null;
        }
        if (plan is not (RoutePlan.Sealed or RoutePlan.Authenticated))
        {
            return Drop(DropReason.NoRoute);
        }
        FrameType type = RoutePlans.FrameTypeOf(plan);
        SendKey? key = to.Group.SendKey;
        if (key is null)
        {
            return Drop(DropReason.NoKey);
        }
        int frameLength;
        if (ReferenceEquals(to.Group, group))
        {
            var header = new SealedFrameHeader(type, group.Id, key.Epoch, snapshot.SenderIndex, key.Salt, key.Counter.Next());
            frameLength = key.Cipher.Seal(header, buffer, packetLength);
        }
        else
        {
            // Another group's key: other groups' workers may use it too, and its own cipher belongs to its worker.
            lock (key.SharedLock)
            {
                var header = new SealedFrameHeader(type, to.Group.Id, key.Epoch, snapshot.SenderIndex, key.Salt, key.Counter.Next());
                frameLength = key.SharedCipher.Seal(header, buffer, packetLength);
            }
        }
        if (frameLength < 0)
        {
            return Drop(DropReason.Malformed);
        }
        if (!sender.TrySend(buffer.Slice(0, frameLength), to.Member.Peer!.SocketAddress))
        {
            return Drop(DropReason.IoError);
        }
        group.Counters.Sealed.CountOut(packetLength);
        to.Member.Peer!.Counters.Sealed.CountOut(packetLength);
        return null;
    }

    private DropReason Drop(DropReason reason)
    {
        _counters.Drop(reason);
        return reason;
    }
}
