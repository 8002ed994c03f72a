using System.Buffers;
using OverlayKvm.Core.Wire;
using OverlayKvm.GuestAgent.Config;
using OverlayKvm.GuestAgent.Pipeline;

namespace OverlayKvm.GuestAgent.Policy;

/// <summary>
/// Seals and sends frames from threads other than a group's TUN worker: negotiation messages and packets
/// released from a negotiation queue. Uses the key's shared cipher under its lock (the worker's cipher is not
/// thread-safe) and the key's one counter, so nonces never repeat across the two.
/// </summary>
internal sealed class SharedFrameSender
{
    private readonly IFrameSender _transport;

    public SharedFrameSender(IFrameSender transport)
    {
        _transport = transport;
    }

    /// <summary>
    /// Sends <paramref name="packet"/> the way <paramref name="plan"/> says (a route's network plan): clear frames need no
    /// key; sealed and authenticated ones go through <see cref="TrySend(AgentSnapshot, GroupRuntime, FrameType, ReadOnlySpan{byte}, PeerVm)"/>.
    /// </summary>
    public bool TrySend(AgentSnapshot snapshot, GroupRuntime group, RoutePlan plan, ReadOnlySpan<byte> packet, PeerVm peer)
    {
        if (plan is RoutePlan.Sealed or RoutePlan.Authenticated)
        {
            return TrySend(snapshot, group, RoutePlans.FrameTypeOf(plan), packet, peer);
        }
        if (plan != RoutePlan.Clear)
        {
            return false;
        }
        byte[] frame = ArrayPool<byte>.Shared.Rent(packet.Length + SealedFrameHeader.Size);
        try
        {
            new SealedFrameHeader(FrameType.ClearData, group.Id, 0, snapshot.SenderIndex, 0, 0).TryWrite(frame);
            packet.CopyTo(frame.AsSpan(SealedFrameHeader.Size));
            return _transport.TrySend(frame.AsSpan(0, SealedFrameHeader.Size + packet.Length), peer.SocketAddress);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(frame);
        }
    }

    /// <summary>Seals <paramref name="plaintext"/> with <paramref name="keyGroup"/>'s newest key as this VM and sends it to <paramref name="peer"/>.</summary>
    public bool TrySend(AgentSnapshot snapshot, GroupRuntime keyGroup, FrameType type, ReadOnlySpan<byte> plaintext, PeerVm peer)
    {
        SendKey? key = keyGroup.SendKey;
        if (key is null)
        {
            return false;
        }
        byte[] frame = ArrayPool<byte>.Shared.Rent(plaintext.Length + SealedFrameHeader.Size + SealedFrameHeader.MaxTagSize);
        try
        {
            plaintext.CopyTo(frame.AsSpan(SealedFrameHeader.Size));
            int length;
            lock (key.SharedLock)
            {
                var header = new SealedFrameHeader(type, keyGroup.Id, key.Epoch, snapshot.SenderIndex, key.Salt, key.Counter.Next());
                length = key.SharedCipher.Seal(header, frame, plaintext.Length);
            }
            return length > 0 && _transport.TrySend(frame.AsSpan(0, length), peer.SocketAddress);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(frame);
        }
    }
}
