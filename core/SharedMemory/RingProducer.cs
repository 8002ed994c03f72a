using System.Runtime.CompilerServices;
using OverlayKvm.Core.Interop;

namespace OverlayKvm.Core.SharedMemory;

/// <summary>
/// The writing end of one single-producer/single-consumer ring. Exactly one thread of one process may write.
/// The producer keeps its own tail privately and only publishes it; the consumer's head is read once per write
/// (acquire), checked against the capacity, and never trusted beyond that check. Nothing allocates per message.
/// </summary>
public sealed unsafe class RingProducer : RingEndpoint
{
    private ulong _tail;

    internal RingProducer(SharedMemoryMapping mapping, long ringOffset, int capacity, int maxPayload)
        : base(mapping, ringOffset, capacity, maxPayload, RingEnd.Producer, out ulong tail)
    {
        _tail = tail;
    }

    public int MaxPayload => _maxPayload;

    /// <summary>Copies <paramref name="payload"/> into the ring as one record and publishes it.</summary>
    public RingWriteResult TryWrite(ReadOnlySpan<byte> payload)
    {
        if (payload.Length == 0 || payload.Length > _maxPayload)
        {
            return RingWriteResult.InvalidLength;
        }

        ObjectDisposedException.ThrowIf(_disposed, this);
        // Same cache line as our tail: the check costs no extra line transfer.
        if (Volatile.Read(ref _ring.Word(RingControl.ResetGenerationOffset)) != _generation)
        {
            AdoptReset();
        }

        ulong head = Volatile.Read(ref _ring.Word(RingControl.HeadOffset));
        ulong used = _tail - head;
        if ((used > _ring.Capacity || (head & 7) != 0) && Volatile.Read(ref _ring.Word(RingControl.ResetGenerationOffset)) != _generation)
        {
            // The daemon reset the ring between our generation check and the head read (a slot handed to a new
            // domain): not a fault, start over on the reset ring.
            AdoptReset();
            head = Volatile.Read(ref _ring.Word(RingControl.HeadOffset));
            used = _tail - head;
        }

        if (used > _ring.Capacity || (head & 7) != 0)
        {
            Faults.Count(RingFault.ForeignIndexInvalid, 0);
            // Republish our tail: if the consumer resynchronised onto a garbage tail, it sees ours on its next read,
            // resynchronises onto it, and the ring heals within one round trip.
            Volatile.Write(ref _ring.Word(RingControl.TailOffset), _tail);
            return RingWriteResult.Corrupt;
        }

        ulong free = _ring.Capacity - used;
        ulong offset = _tail & _ring.Mask;
        ulong recordSize = RingRecord.SizeFor((uint)payload.Length);
        ulong contiguous = _ring.Capacity - offset;
        if (recordSize > contiguous)
        {
            // Pad to the end even if the record itself does not fit yet: once the consumer passes the padding the
            // whole ring is contiguous again, so a record of up to half the ring always fits eventually.
            if (contiguous > free)
            {
                return RingWriteResult.Full;
            }

            uint pad = RingRecord.PaddingFlag | (uint)(contiguous - RingRecord.HeaderSize);
            WriteHeader(offset, pad);
            _tail += contiguous;
            free -= contiguous;
            offset = 0;
            _wraps++;
            Volatile.Write(ref _ring.Word(RingControl.TailOffset), _tail);
        }

        if (recordSize > free)
        {
            return RingWriteResult.Full;
        }

        // SAFETY: offset + recordSize <= capacity (contiguity ensured above), so the copy stays inside the data area.
        payload.CopyTo(new Span<byte>(_ring.Data + offset + RingRecord.HeaderSize, payload.Length));
        WriteHeader(offset, (uint)payload.Length);
        _tail += recordSize;
        if ((_tail & _ring.Mask) == 0)
        {
            _wraps++;
        }

        _records++;
        _bytes += (ulong)payload.Length;
        _ring.Word(RingControl.RecordsWrittenOffset) = _records;
        _ring.Word(RingControl.BytesWrittenOffset) = _bytes;
        // Release: the payload and header stores above become visible before the new tail.
        Volatile.Write(ref _ring.Word(RingControl.TailOffset), _tail);
        return RingWriteResult.Written;
    }

    /// <summary>Bytes the consumer has not taken yet (as far as its published head says), clamped to the capacity.</summary>
    public long PendingBytes => (long)Math.Min(_tail - Volatile.Read(ref _ring.Word(RingControl.HeadOffset)), _ring.Capacity);

    /// <summary>The daemon emptied the ring for a new occupant: start over where it left the indices, not at our old tail.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void AdoptReset()
    {
        _tail = RestartAfterReset();
        Volatile.Write(ref _ring.Word(RingControl.TailOffset), _tail);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void WriteHeader(ulong offset, uint word0)
    {
        // SAFETY: offset is 8-aligned and below capacity, so both u32 words lie inside the data area.
        *(uint*)(_ring.Data + offset) = word0;
        *(uint*)(_ring.Data + offset + 4) = ~word0;
    }

}
