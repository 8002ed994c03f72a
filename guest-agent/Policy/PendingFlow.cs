using System.Buffers;
using OverlayKvm.GuestAgent.Config;

namespace OverlayKvm.GuestAgent.Policy;

/// <summary>
/// A flow whose Is Allowed is out (seed 004 R4.7, R4.10): the request id the answer must carry, when to ask
/// again and when silence counts as deny, and the packets held meanwhile (pooled copies, bounded). All state
/// changes happen under the instance lock; <see cref="Closed"/> tells a sender that raced with the answer to
/// look at the rule table again instead of queueing into a flow that is gone.
/// </summary>
internal sealed class PendingFlow
{
    private readonly List<(byte[] Buffer, int Length)> _packets = [];

    public required ulong RequestId { get; init; }

    public required PeerVm Peer { get; init; }

    /// <summary>The destination's group: its key seals Is Allowed (and released packets).</summary>
    public required GroupRuntime DestinationGroup { get; init; }

    public required long DeadlineMs { get; init; }

    /// <summary>Stopwatch timestamp of the first Is Allowed, for the negotiation latency counter.</summary>
    public long StartedTimestamp { get; } = System.Diagnostics.Stopwatch.GetTimestamp();

    public long NextRetryMs { get; set; }

    public bool Closed { get; private set; }

    public Lock Sync { get; } = new();

    public int Count => _packets.Count;

    /// <summary>Copies the packet into a pooled buffer; false when the per-flow bound is reached.</summary>
    public bool TryEnqueue(ReadOnlySpan<byte> packet, int limit)
    {
        if (_packets.Count >= limit)
        {
            return false;
        }
        byte[] buffer = ArrayPool<byte>.Shared.Rent(packet.Length);
        packet.CopyTo(buffer);
        _packets.Add((buffer, packet.Length));
        return true;
    }

    /// <summary>Closes the flow and hands each held packet to <paramref name="release"/> (or drops them when null), returning buffers to the pool.</summary>
    public int Close(Action<ReadOnlyMemory<byte>>? release)
    {
        Closed = true;
        int count = _packets.Count;
        foreach (var (buffer, length) in _packets)
        {
            release?.Invoke(buffer.AsMemory(0, length));
            ArrayPool<byte>.Shared.Return(buffer);
        }
        _packets.Clear();
        return count;
    }
}
