using OverlayKvm.Core.Interop;

namespace OverlayKvm.Core.SharedMemory;

/// <summary>
/// One ring's memory inside a mapped region: its control block (indices, counters) and data area, bounds-checked
/// once at attach and kept mapped by a lease on the mapping. Shared by <see cref="RingProducer"/> and
/// <see cref="RingConsumer"/>, which differ only in which index they own.
/// </summary>
internal readonly unsafe struct RingMemory
{
    private readonly SafeMappedMemoryHandle _lease;
    private readonly byte* _control;

    private RingMemory(SafeMappedMemoryHandle lease, byte* control, int capacity)
    {
        _lease = lease;
        _control = control;
        Data = control + EngineRegionLayout.RingControlSize;
        Capacity = (ulong)capacity;
        Mask = Capacity - 1;
    }

    public byte* Data { get; }
    public ulong Capacity { get; }
    public ulong Mask { get; }

    /// <summary>Checks that the ring lies inside the mapping and takes a lease so it stays mapped until <see cref="Release"/>.</summary>
    public static RingMemory Attach(SharedMemoryMapping mapping, long ringOffset, int capacity)
    {
        if (ringOffset < 0 || ringOffset + EngineRegionLayout.RingControlSize + (long)capacity > mapping.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(ringOffset), $"ring at {ringOffset} (+{capacity}) is outside region '{mapping.Path}'");
        }

        var lease = mapping.Handle;
        lease.AcquireLease();
        // SAFETY: [ringOffset, ringOffset + 128 + capacity) lies inside the mapping (checked above) and the lease keeps it mapped.
        return new RingMemory(lease, mapping.Pointer + ringOffset, capacity);
    }

    // SAFETY: callers pass the fixed control-block offsets (< 128), 8-aligned, inside the leased mapping.
    public ref ulong Word(int offset) => ref *(ulong*)(_control + offset);

    public void Release() => _lease.ReleaseLease();

    /// <summary>
    /// Where one end resumes when it attaches: the index it owns as published, unless that is impossible against the
    /// other end's (more than the capacity apart, or not 8-aligned: a corrupt region or a hostile peer). Then it
    /// restarts at the other end's position, aligned down so a record header never crosses the ring's end, counts
    /// the fault and republishes. One rule for both ends, each applying it to the index it owns.
    /// </summary>
    public RingEndState Resume(RingEnd end, RingFaultCounters faults)
    {
        bool producer = end == RingEnd.Producer;
        int own = producer ? RingControl.TailOffset : RingControl.HeadOffset;
        ulong ownIndex = Volatile.Read(ref Word(own));
        ulong peerIndex = Volatile.Read(ref Word(producer ? RingControl.HeadOffset : RingControl.TailOffset));
        ulong used = producer ? ownIndex - peerIndex : peerIndex - ownIndex;
        if (used > Capacity || (ownIndex & 7) != 0)
        {
            faults.Count(RingFault.OwnIndexInvalid, 0);
            ownIndex = peerIndex & ~7UL;
            Volatile.Write(ref Word(own), ownIndex);
        }

        return new RingEndState(
            ownIndex,
            Volatile.Read(ref Word(RingControl.ResetGenerationOffset)),
            Volatile.Read(ref Word(producer ? RingControl.RecordsWrittenOffset : RingControl.RecordsReadOffset)),
            Volatile.Read(ref Word(producer ? RingControl.BytesWrittenOffset : RingControl.BytesReadOffset)));
    }
}

