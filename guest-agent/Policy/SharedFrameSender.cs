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

    /// <summary>Seals <paramref name="plaintext"/> with <paramref name="keyGroup"/>'s newest key as this VM and sends it to <paramref name="peer"/>.</summary>
    public bool TrySend(AgentSnapshot snapshot, GroupRuntime keyGroup, FrameType type, ReadOnlySpan<byte> plaintext, PeerVm peer)
    {
        SendKey? key = keyGroup.SendKey;
        if (key is null)
        {
            return false;
        }
        byte[] frame = ArrayPool<byte>.Shared.Rent(plaintext.Length + SealedFrameHeader.Overhead);
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
