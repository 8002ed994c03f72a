using System.Runtime.CompilerServices;
using OverlayKvm.Core.SharedMemory.Interop;

namespace OverlayKvm.Core.SharedMemory;

/// <summary>
/// The writing end of one single-producer/single-consumer ring. Exactly one thread of one process may write.
/// The producer keeps its own tail privately and only publishes it; the consumer's head is read once per write
/// (acquire), checked against the capacity, and never trusted beyond that check. Nothing allocates per message.
/// </summary>
public sealed unsafe class RingProducer : IDisposable
{
    private readonly SafeMappedMemoryHandle _lease;
    private readonly byte* _control;
    private readonly byte* _data;
    private readonly ulong _capacity;
    private readonly ulong _mask;
    private readonly int _maxPayload;
    private ulong _tail;
    private ulong _records;
    private ulong _bytes;
    private long _wraps;
    private bool _disposed;

    internal RingProducer(SharedMemoryMapping mapping, long ringOffset, int capacity, int maxPayload)
    {
        if (ringOffset < 0 || ringOffset + RingControlSize + (long)capacity > mapping.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(ringOffset), $"ring at {ringOffset} (+{capacity}) is outside region '{mapping.Path}'");
        }

        _lease = mapping.Handle;
        _lease.AcquireLease();
        // SAFETY: [ringOffset, ringOffset + 128 + capacity) lies inside the mapping (checked above) and the lease keeps it mapped.
        _control = mapping.Pointer + ringOffset;
        _data = _control + RingControlSize;
        _capacity = (ulong)capacity;
        _mask = _capacity - 1;
        _maxPayload = maxPayload;

        ulong tail = Volatile.Read(ref Word(RingControl.TailOffset));
        ulong head = Volatile.Read(ref Word(RingControl.HeadOffset));
        if (tail - head > _capacity || (tail & 7) != 0)
        {
            // Our published index is garbage (corrupt region or a hostile peer): restart from the consumer's position.
            Faults.Count(RingFault.OwnIndexInvalid, 0);
            tail = head & ~7UL;
            Volatile.Write(ref Word(RingControl.TailOffset), tail);
        }

        _tail = tail;
        _records = Volatile.Read(ref Word(RingControl.RecordsWrittenOffset));
        _bytes = Volatile.Read(ref Word(RingControl.BytesWrittenOffset));
    }

    private const int RingControlSize = EngineRegionLayout.RingControlSize;

    public RingFaultCounters Faults { get; } = new();

    /// <summary>How often the write position went back to the ring's start.</summary>
    public long Wraps => Volatile.Read(ref _wraps);

    public int MaxPayload => _maxPayload;

    /// <summary>Copies <paramref name="payload"/> into the ring as one record and publishes it.</summary>
    public RingWriteResult TryWrite(ReadOnlySpan<byte> payload)
    {
        if (payload.Length == 0 || payload.Length > _maxPayload)
        {
            return RingWriteResult.InvalidLength;
        }

        ObjectDisposedException.ThrowIf(_disposed, this);
        ulong head = Volatile.Read(ref Word(RingControl.HeadOffset));
        ulong used = _tail - head;
        if (used > _capacity || (head & 7) != 0)
        {
            Faults.Count(RingFault.ForeignIndexInvalid, 0);
            // Republish our tail: if the consumer resynchronised onto a garbage tail, it sees ours on its next read,
            // resynchronises onto it, and the ring heals within one round trip.
            Volatile.Write(ref Word(RingControl.TailOffset), _tail);
            return RingWriteResult.Corrupt;
        }

        ulong free = _capacity - used;
        ulong offset = _tail & _mask;
        ulong recordSize = RingRecord.SizeFor((uint)payload.Length);
        ulong contiguous = _capacity - offset;
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
            Volatile.Write(ref Word(RingControl.TailOffset), _tail);
        }

        if (recordSize > free)
        {
            return RingWriteResult.Full;
        }

        // SAFETY: offset + recordSize <= capacity (contiguity ensured above), so the copy stays inside the data area.
        payload.CopyTo(new Span<byte>(_data + offset + RingRecord.HeaderSize, payload.Length));
        WriteHeader(offset, (uint)payload.Length);
        _tail += recordSize;
        if ((_tail & _mask) == 0)
        {
            _wraps++;
        }

        _records++;
        _bytes += (ulong)payload.Length;
        Word(RingControl.RecordsWrittenOffset) = _records;
        Word(RingControl.BytesWrittenOffset) = _bytes;
        // Release: the payload and header stores above become visible before the new tail.
        Volatile.Write(ref Word(RingControl.TailOffset), _tail);
        return RingWriteResult.Written;
    }

    /// <summary>Bytes the consumer has not taken yet (as far as its published head says), clamped to the capacity.</summary>
    public long PendingBytes => (long)Math.Min(_tail - Volatile.Read(ref Word(RingControl.HeadOffset)), _capacity);

    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            _lease.ReleaseLease();
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void WriteHeader(ulong offset, uint word0)
    {
        // SAFETY: offset is 8-aligned and below capacity, so both u32 words lie inside the data area.
        *(uint*)(_data + offset) = word0;
        *(uint*)(_data + offset + 4) = ~word0;
    }

    // SAFETY: callers pass the fixed control-block offsets (< 128), 8-aligned, inside the leased mapping.
    private ref ulong Word(int offset) => ref *(ulong*)(_control + offset);
}
