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
///    them) → else `no-route`;
/// 4. the transmission manager decides (seed 004: sender-side enforcement first, R4.23): deny → `denied-egress`,
///    nothing leaves the VM; waiting for a negotiation → held in the flow's queue (or `pending`);
/// 5. destination on this VM → written back to the destination group's adapter in clear (local path);
/// 6. destination in the same group on another VM: first the acceleration engine (FIG. 9): a current
///    "accessible" answer for it → written in clear to the shared-memory ring, never on a network (engine path);
/// 7. otherwise sealed (or, for a group whose protection is "authenticated", authenticated in clear) with the destination group's newest key (for a neighbor group: the key derived for this
///    VM) and sent by UDP to that VM (sealed path). Nothing here allocates, throws, or logs.
/// </summary>
internal sealed class SendPath
{
    private readonly AgentState _state;
    private readonly DatapathCounters _counters;
    private readonly IFrameSender _sender;
    private readonly AdapterTable _adapters;
    private readonly TransmissionManager _transmission;
    private readonly EngineDatapath? _engine;

    public SendPath(AgentState state, DatapathCounters counters, IFrameSender sender, AdapterTable adapters, TransmissionManager transmission, EngineDatapath? engine = null)
    {
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

    /// <param name="sender">Where sealed frames go: the UDP transport, or a worker's batch (sendmmsg).</param>
    public DropReason? Process(uint groupId, Span<byte> buffer, int packetLength, IFrameSender sender)
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
        if (to.Member.IsLocal)
        {
            if (!_adapters.TryGet(to.Group.Id, out IPacketSink sink))
            {
                return Drop(DropReason.NoRoute);
            }
            if (!sink.TryWrite(packet))
            {
                return Drop(DropReason.IoError);
            }
            group.Counters.Local.CountOut(packetLength);
            to.Group.Counters.Local.CountIn(packetLength);
            return null;
        }
        if (_engine is not null && ReferenceEquals(to.Group, group) && _engine.TrySend(group, destination, packet))
        {
            group.Counters.Engine.CountOut(packetLength);
            return null;
        }
        SendKey? key = to.Group.SendKey;
        if (key is null)
        {
            return Drop(DropReason.NoKey);
        }
        int frameLength;
        if (ReferenceEquals(to.Group, group))
        {
            var header = new SealedFrameHeader(group.DataType, group.Id, key.Epoch, snapshot.SenderIndex, key.Salt, key.Counter.Next());
            frameLength = key.Cipher.Seal(header, buffer, packetLength);
        }
        else
        {
            // Another group's key: other groups' workers may use it too, and its own cipher belongs to its worker.
            lock (key.SharedLock)
            {
                var header = new SealedFrameHeader(to.Group.DataType, to.Group.Id, key.Epoch, snapshot.SenderIndex, key.Salt, key.Counter.Next());
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
        return null;
    }

    private DropReason Drop(DropReason reason)
    {
        _counters.Drop(reason);
        return reason;
    }
}
