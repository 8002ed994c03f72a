using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using OverlayKvm.Core.Buffers;
using OverlayKvm.GuestAgent.Pipeline;

namespace OverlayKvm.GuestAgent.Transport;

/// <summary>
/// A TUN worker's outgoing batch: sealed frames are queued in the slot they were sealed in (no copy) and leave
/// in one sendmmsg per burst of packets read from the adapter; with UDP GSO on the transport, runs of frames to one
/// peer (a super-packet's segments) go as one UDP_SEGMENT message each. One per worker.
/// </summary>
internal sealed class BatchFrameSender : IFrameSender, IDisposable
{
    private readonly SafeSocketHandle _socket;
    private readonly UdpTransport _transport;
    private readonly DatapathCounters _counters;

    public BatchFrameSender(UdpTransport transport, int capacity, int slotSize, DatapathCounters counters)
    {
        _transport = transport;
        _socket = transport.Socket.SafeHandle;
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
        Batch.Segmentation = _transport.SendSegmentation;
        try
        {
            failed = Batch.Flush(_socket);
            if (Batch.SegmentationRefused && _transport.SendSegmentation)
            {
                _transport.OnSegmentationRefused();
            }
        }
        catch (ObjectDisposedException)
        {
            failed = Batch.Count;
        }
        if (failed > 0)
        {
            _counters.Drop(DropReason.IoError, failed);
        }
    }

    public void Dispose() => Batch.Dispose();
}
