using OverlayKvm.Core.Wire;
using OverlayKvm.GuestAgent.Config;
using OverlayKvm.GuestAgent.Engine;

namespace OverlayKvm.GuestAgent.Pipeline;

/// <summary>
/// Send stage, run by a group's TUN worker for each packet an app of this VM sent into the group's adapter:
/// 1. the packet sits in the worker's buffer after <see cref="SealedFrameHeader.Size"/> bytes of headroom, with
///    room for the tag after it, so sealing happens in place;
/// 2. the inner source must be an app of this VM in this group (a local process cannot use the adapter to
///    impersonate another member) → else `spoof`;
/// 3. destination on this VM → written back to the adapter in clear (local path);
/// 4. destination on another VM: first the acceleration engine (FIG. 9): a current "accessible" answer for it →
///    written in clear to the shared-memory ring, never on a network (engine path);
/// 5. otherwise sealed with the group's newest key and sent by UDP to that VM (sealed path);
/// 6. anything else is dropped with its reason. Nothing here allocates, throws, or logs.
/// </summary>
internal sealed class SendPath
{
    private readonly AgentState _state;
    private readonly DatapathCounters _counters;
    private readonly IFrameSender _sender;
    private readonly AdapterTable _adapters;
    private readonly EngineDatapath? _engine;

    public SendPath(AgentState state, DatapathCounters counters, IFrameSender sender, AdapterTable adapters, EngineDatapath? engine = null)
    {
        _engine = engine;
        _state = state;
        _counters = counters;
        _sender = sender;
        _adapters = adapters;
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
        if (!group.Members.TryGetValue(destination, out MemberRoute? to))
        {
            return Drop(DropReason.NoRoute);
        }
        if (to.IsLocal)
        {
            if (!_adapters.TryGet(groupId, out IPacketSink sink))
            {
                return Drop(DropReason.NoRoute);
            }
            if (!sink.TryWrite(packet))
            {
                return Drop(DropReason.IoError);
            }
            group.Counters.Local.CountOut(packetLength);
            group.Counters.Local.CountIn(packetLength);
            return null;
        }
        if (_engine is not null && _engine.TrySend(group, destination, packet))
        {
            group.Counters.Engine.CountOut(packetLength);
            return null;
        }
        SendKey? key = group.SendKey;
        if (key is null)
        {
            return Drop(DropReason.NoKey);
        }
        var header = new SealedFrameHeader(FrameType.Data, group.Id, key.Epoch, snapshot.SenderIndex, key.Counter.Next());
        int frameLength = key.Cipher.Seal(header, buffer, packetLength);
        if (frameLength < 0)
        {
            return Drop(DropReason.Malformed);
        }
        if (!sender.TrySend(buffer.Slice(0, frameLength), to.Peer!.SocketAddress))
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
