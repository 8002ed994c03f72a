using System.Runtime.CompilerServices;
using OverlayKvm.Core.Interop;

namespace OverlayKvm.Core.SharedMemory;

/// <summary>
/// The reading end of one single-producer/single-consumer ring. Exactly one thread of one process may read.
/// The other side is hostile: the producer's tail is read once per call (acquire) and checked against the capacity;
/// each record header is read once into locals and checked (word1 == ~word0, length, alignment, ring end) before a
/// byte of payload is touched. Anything wrong drops the pending bytes, counts the fault and resynchronises
/// (head = tail): a typed result, never an exception, never a read outside the ring.
/// Restart semantics: the committed head lives in shared memory, so a consumer that dies and re-attaches continues
/// at the first record it had not committed. <c>TryRead(..., commit: true)</c> commits as it hands a record out
/// (at-most-once: a record taken but not yet processed when the consumer died is gone, like a packet dropped in
/// flight); <c>commit: false</c> + <see cref="Commit"/> after processing gives at-least-once (the one record in
/// flight may be delivered again).
/// </summary>
public sealed unsafe class RingConsumer : RingEndpoint
{
    private ulong _head;
    private ulong _publishedHead;

    internal RingConsumer(SharedMemoryMapping mapping, long ringOffset, int capacity, int maxPayload)
        : base(mapping, ringOffset, capacity, maxPayload, RingEnd.Consumer, out ulong head)
    {
        _head = head;
        _publishedHead = head;
    }

    /// <summary>The committed read index (bytes ever consumed) as last published by this consumer.</summary>
    public ulong Head => _publishedHead;

    /// <summary>Whether the producer published bytes this consumer has not read (one acquire load; the doorbell's
    /// re-check before sleeping). A garbage tail also counts as pending: the next read resynchronises.</summary>
    public bool HasPending
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return Volatile.Read(ref _ring.Word(RingControl.TailOffset)) != _head;
        }
    }

    /// <summary>Copies the next record into <paramref name="destination"/>; with <paramref name="commit"/> false the
    /// space is released only by <see cref="Commit"/> (a further read before that moves on locally).</summary>
    public RingReadResult TryRead(Span<byte> destination, out int length, bool commit = true)
    {
        length = 0;
        ObjectDisposedException.ThrowIf(_disposed, this);
        // On the producer's cache line, which the tail read below loads anyway.
        if (Volatile.Read(ref _ring.Word(RingControl.ResetGenerationOffset)) != _generation)
        {
            AdoptReset();
        }

        // At most two rounds: a padding record, then the record at offset 0.
        for (int round = 0; round < 2; round++)
        {
            ulong tail = Volatile.Read(ref _ring.Word(RingControl.TailOffset));
            ulong available = tail - _head;
            if (available == 0)
            {
                RepairPublishedHeadIfChanged();
                return RingReadResult.Empty;
            }

            if (available > _ring.Capacity || (available & 7) != 0)
            {
                return Resync(tail, RingFault.ForeignIndexInvalid);
            }

            ulong offset = _head & _ring.Mask;
            // SAFETY: offset is 8-aligned and < capacity, so both header words are inside the data area.
            uint word0 = *(uint*)(_ring.Data + offset);
            uint word1 = *(uint*)(_ring.Data + offset + 4);
            if (word1 != ~word0)
            {
                return Resync(tail, RingFault.RecordCheckMismatch);
            }

            uint len = word0 & RingRecord.LengthMask;
            ulong contiguous = _ring.Capacity - offset;
            if ((word0 & RingRecord.PaddingFlag) != 0)
            {
                if (len + (ulong)RingRecord.HeaderSize != contiguous || contiguous > available)
                {
                    return Resync(tail, RingFault.PaddingInvalid);
                }

                _head += contiguous;
                _wraps++;
                if (commit)
                {
                    Publish();
                }

                continue;
            }

            ulong recordSize = RingRecord.SizeFor(len);
            if (len == 0 || len > (uint)_maxPayload || recordSize > available || recordSize > contiguous)
            {
                return Resync(tail, RingFault.RecordLengthInvalid);
            }

            if (len > (uint)destination.Length)
            {
                length = (int)len;
                return RingReadResult.DestinationTooSmall;
            }

            // SAFETY: offset + 8 + len <= offset + recordSize <= capacity: the source lies inside the data area.
            new ReadOnlySpan<byte>(_ring.Data + offset + RingRecord.HeaderSize, (int)len).CopyTo(destination);
            _head += recordSize;
            if ((_head & _ring.Mask) == 0)
            {
                _wraps++;
            }

            _records++;
            _bytes += len;
            if (commit)
            {
                Commit();
            }

            length = (int)len;
            return RingReadResult.Message;
        }

        return RingReadResult.Empty;
    }

    /// <summary>Publishes the local read position: the producer may reuse the space of every record read so far.</summary>
    public void Commit()
    {
        _ring.Word(RingControl.RecordsReadOffset) = _records;
        _ring.Word(RingControl.BytesReadOffset) = _bytes;
        Publish();
    }

    /// <summary>The daemon emptied the ring for a new occupant: nothing is pending, start from its zeroed indices.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void AdoptReset()
    {
        // The daemon zeroed our head; the new producer may have written since, from zero.
        _head = RestartAfterReset();
        Publish();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private RingReadResult Resync(ulong tail, RingFault fault)
    {
        ulong dropped = tail - _head;
        Faults.Count(fault, dropped <= _ring.Capacity ? dropped : 0);
        // Skip everything pending (uncommitted reads included: they are dropped with the rest). If the tail itself
        // was garbage, the producer's next write sees an impossible head, is refused and republishes its real tail,
        // and this side resynchronises onto that on its next read.
        _head = tail & ~7UL;
        Publish();
        return RingReadResult.Corrupt;
    }

    // Release: the copies made by earlier reads complete before the producer may reuse the space.
    private void Publish()
    {
        _publishedHead = _head;
        Volatile.Write(ref _ring.Word(RingControl.HeadOffset), _head);
    }

    /// <summary>
    /// Idle path only: if someone overwrote our published head while the ring was empty, the producer would refuse
    /// to write (Corrupt) and nothing would ever make us publish again. Put our value back and count it.
    /// </summary>
    private void RepairPublishedHeadIfChanged()
    {
        if (Volatile.Read(ref _ring.Word(RingControl.HeadOffset)) != _publishedHead)
        {
            Faults.Count(RingFault.OwnIndexInvalid, 0);
            Volatile.Write(ref _ring.Word(RingControl.HeadOffset), _publishedHead);
        }
    }

}
