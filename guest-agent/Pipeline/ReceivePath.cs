using OverlayKvm.Core.Crypto;
using OverlayKvm.Core.Wire;
using OverlayKvm.GuestAgent.Config;
using OverlayKvm.GuestAgent.Engine;
using OverlayKvm.GuestAgent.Policy;

namespace OverlayKvm.GuestAgent.Pipeline;

/// <summary>
/// Receive stage, run by the UDP worker for each datagram that arrived on the overlay port. Checks in order of
/// cost, so junk is rejected before any cryptography:
/// 0. a frame whose type byte says "engine path" is dropped as `engine-claim` (R0.15: data that claims to come
///    through the engine but arrives from a network is never delivered);
/// 1. header parses and names a group this VM is in → else `malformed`;
/// 2. the header's sender is a VM of that group, or of a group policy relates to it, and the datagram's outer
///    source is that VM's underlay address → else `spoof` (a member cannot claim to be another one);
/// 2a. a clear frame (type 5, trusted segment, seed 002 R14) is accepted only from a VM the document routes to in clear
///    (on a trusted segment with this one) → else `clear-untrusted`; it skips 3–5 (no key, no tag) and goes to 7;
/// 3. a key exists for (epoch, sender) and the epoch has not retired → else `no-key`;
/// 4. the frame's stream (sender salt) is the sender's current one and the counter inside its replay window and
///    unseen, or it starts a newer stream whose first counter is within the skew of this VM's clock → else `replay`;
/// 5. the AEAD opens → else `auth`;
/// 6. a control frame goes to the transmission manager (negotiation, seed 004);
/// 7. the inner packet is IPv4 → else `malformed`; its source is an app of the sending VM (anti-spoofing by the
///    directory, seed 003 R3.12) → else `spoof`; its destination is an app of this VM in the frame's group with a
///    running adapter → else `no-route`;
/// 8. the transmission manager admits the flow (R4.11) → else `denied-ingress` (and the sender is told);
/// 9. only then is the packet written to the adapter. The counter is marked seen for every authentic frame.
/// Delivery goes through a <see cref="ReceiveCoalescer"/>: an adapter with offloads gets consecutive segments of a
/// flow as one super-packet, written when the next packet cannot join or at <see cref="Flush"/> (the end of the
/// receive burst); a packet is counted in when accepted, a refused super-packet as `io-error` drops.
/// One receive worker calls <see cref="Process"/> and <see cref="Flush"/> (the coalescer is not thread-safe).
/// Nothing here allocates or logs; a tag failure costs one BCL exception (see FrameCipher).
/// </summary>
internal sealed class ReceivePath
{
    private readonly AgentState _state;
    private readonly DatapathCounters _counters;
    private readonly AdapterTable _adapters;
    private readonly TimeProvider _time;
    private readonly TransmissionManager _transmission;
    private readonly ReceiveCoalescer _coalescer;

    public ReceivePath(AgentState state, DatapathCounters counters, AdapterTable adapters, TimeProvider time, TransmissionManager transmission)
    {
        _coalescer = new ReceiveCoalescer(counters);
        _state = state;
        _counters = counters;
        _adapters = adapters;
        _time = time;
        _transmission = transmission;
    }

    /// <param name="frame">The whole UDP payload; opened in place.</param>
    /// <param name="outerSource">The datagram's IPv4 source address, big-endian.</param>
    public DropReason? Process(Span<byte> frame, uint outerSource)
    {
        AgentSnapshot? snapshot = _state.Current;
        if (EngineFrameMarker.IsClaimed(frame))
        {
            return Drop(DropReason.EngineClaim);
        }
        if (!SealedFrameHeader.TryRead(frame, out SealedFrameHeader header))
        {
            return Drop(DropReason.Malformed);
        }
        if (snapshot is null || !snapshot.GroupsById.TryGetValue(header.GroupId, out GroupRuntime? group))
        {
            return Drop(DropReason.Malformed);
        }
        if (!group.Peers.TryGetValue(header.SenderIndex, out PeerVm? peer) || peer.UnderlayAddress != outerSource)
        {
            return Drop(DropReason.Spoof);
        }
        if (header.Type == FrameType.ClearData)
        {
            return peer.AcceptsClear
                ? Deliver(snapshot, group, peer, frame.Slice(SealedFrameHeader.Size), null, header, group.Counters.Clear)
                : Drop(DropReason.ClearUntrusted);
        }
        if (header.Cipher != group.Cipher)
        {
            // Configuration, not the peer, chooses the cipher: a frame of another one is dropped before any key work.
            return Drop(DropReason.Cipher);
        }
        if (!group.ReceiveKeys.TryGetValue((header.Epoch, header.SenderIndex), out ReceiveKey? key)
            || key.RetiresAtTicks <= _time.GetUtcNow().UtcTicks)
        {
            return Drop(DropReason.NoKey);
        }
        if (key.Streams.Check(header) != StreamCheck.Acceptable)
        {
            return Drop(DropReason.Replay);
        }
        int length = key.Streams.Open(header, frame);
        if (length < 0)
        {
            return Drop(DropReason.Auth);
        }
        Span<byte> packet = frame.Slice(SealedFrameHeader.Size, length);
        if (header.Type == FrameType.Control)
        {
            key.Streams.Accept(header);
            _transmission.OnControl(snapshot, group, peer, packet);
            return null;
        }
        return Deliver(snapshot, group, peer, packet, key, header, group.Counters.Sealed);
    }

    /// <summary>Steps 7–9 for an opened (or clear) inner packet; <paramref name="key"/> is null for clear frames (no window to mark).</summary>
    private DropReason? Deliver(AgentSnapshot snapshot, GroupRuntime group, PeerVm peer, Span<byte> packet, ReceiveKey? key, in SealedFrameHeader header,
        PathCounters counters)
    {
        if (!Ipv4Packet.TryReadAddresses(packet, out uint source, out uint destination))
        {
            return Drop(DropReason.Malformed);
        }
        if (!snapshot.Directory.TryGetValue(source, out DirectoryRoute? from) || !ReferenceEquals(from.Member.Peer, peer))
        {
            return Drop(DropReason.Spoof);
        }
        if (!group.Members.TryGetValue(destination, out MemberRoute? to) || !to.IsLocal || !_adapters.TryGet(group.Id, out IPacketSink sink))
        {
            return Drop(DropReason.NoRoute);
        }
        key?.Streams.Accept(header);
        if (!_transmission.CheckIngress(snapshot, peer, source, destination, packet))
        {
            return Drop(DropReason.DeniedIngress);
        }
        // Trim to the IP total length: the inner packet is exactly what the sender's kernel produced.
        if (!_coalescer.Deliver(sink, packet.Slice(0, Ipv4Packet.TotalLength(packet))))
        {
            return Drop(DropReason.IoError);
        }
        counters.CountIn(packet.Length);
        peer.Counters.Sealed.CountIn(packet.Length);
        return null;
    }

    /// <summary>Writes what the coalescer holds; the receive worker calls it at the end of every burst.</summary>
    public void Flush() => _coalescer.Flush();

    private DropReason Drop(DropReason reason)
    {
        _counters.Drop(reason);
        return reason;
    }
}
