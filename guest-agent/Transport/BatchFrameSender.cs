using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using OverlayKvm.Core.Buffers;
using OverlayKvm.GuestAgent.Pipeline;

namespace OverlayKvm.GuestAgent.Transport;

/// <summary>
/// A TUN worker's outgoing batch: sealed frames are queued in the slot they were sealed in (no copy) and leave
/// in one sendmmsg per burst of packets read from the adapter. One per worker.
/// </summary>
internal sealed class BatchFrameSender : IFrameSender, IDisposable
{
    private readonly SafeSocketHandle _socket;
    private readonly DatapathCounters _counters;

    public BatchFrameSender(Socket socket, int capacity, int slotSize, DatapathCounters counters)
    {
        _socket = socket.SafeHandle;
        _counters = counters;
        Batch = new DatagramBatch(capacity, slotSize);
    }

    public DatagramBatch Batch { get; }

    /// <summary>The slot the next packet should be read into.</summary>
    public Span<byte> NextSlot => Batch.Slot(Batch.Count);

    public bool IsFull => Batch.Count == Batch.Capacity;

    public bool TrySend(ReadOnlySpan<byte> frame, SocketAddress destination)
    {
        Span<byte> slot = Batch.Slot(Batch.Count);
        if (!Unsafe.AreSame(ref MemoryMarshal.GetReference(frame), ref MemoryMarshal.GetReference(slot)))
        {
            // Sealed somewhere else (not in the slot it was read into): copy it in.
            if (frame.Length > slot.Length)
            {
                return false;
            }
            frame.CopyTo(slot);
        }
        return Batch.Queue(0, frame.Length, destination);
    }

    /// <summary>Sends what is queued; failed datagrams are counted as io-error drops.</summary>
    public void Flush()
    {
        if (Batch.Count == 0)
        {
            return;
        }
        int failed;
        try
        {
            failed = Batch.Flush(_socket);
        }
        catch (ObjectDisposedException)
        {
            failed = Batch.Count;
        }
        for (int i = 0; i < failed; i++)
        {
            _counters.Drop(DropReason.IoError);
        }
    }

    public void Dispose() => Batch.Dispose();
}
