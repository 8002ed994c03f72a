namespace OverlayKvm.Core.SharedMemory;

/// <summary>
/// One group's engine region on one host (docs/engine-region.md): validated header, control words, slot table and
/// rings, over a <see cref="SharedMemoryMapping"/> that this object owns. The daemon creates it with
/// <see cref="Initialize"/>; agents (and a restarted daemon) use <see cref="TryAttach"/>.
/// </summary>
public sealed unsafe class EngineRegion : IDisposable
{
    private EngineRegion(SharedMemoryMapping mapping, EngineRegionHeader header, string group)
    {
        Group = group;
        Mapping = mapping;
        Layout = header.Layout;
        Generation = header.Generation;
        mapping.Handle.AcquireLease();
        // SAFETY: the header was validated against the mapped length, so the slot table lies inside the mapping;
        // the lease taken above keeps it mapped until Dispose.
        Control = new EngineRegionControl(this, mapping.Pointer);
        Slots = new SlotTable(this, mapping.Pointer + Layout.SlotTableOffset, Layout.SlotCount);
    }

    public SharedMemoryMapping Mapping { get; }

    /// <summary>The group this region serves (from the identity block, checked at attach).</summary>
    public string Group { get; }

    public EngineRegionLayout Layout { get; }

    /// <summary>The generation attached to; the daemon bumps it when it re-creates the region.</summary>
    public ulong Generation { get; }

    public EngineRegionControl Control { get; }

    public SlotTable Slots { get; }

    private bool _disposed;

    /// <summary>Views (slot table, control words) check this before touching memory that Dispose unmaps.</summary>
    internal void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    /// <summary>Writes a fresh layout (daemon): header, group identity, empty slot table, empty rings, engine enabled.</summary>
    public static EngineRegion Initialize(SharedMemoryMapping mapping, string group, int slotCount, ulong generation)
    {
        if (!EngineRegionLayout.TryCompute(mapping.Length, slotCount, out EngineRegionLayout layout, out string? error))
        {
            throw new ArgumentException($"engine region '{mapping.Path}': {error}", nameof(slotCount));
        }

        mapping.GetSpan(0, layout.RingsOffset).Clear();
        for (int i = 0; i < layout.RingCount; i++)
        {
            mapping.GetSpan(layout.RingsOffset + i * layout.RingStride, EngineRegionLayout.RingControlSize).Clear();
        }

        var header = new EngineRegionHeader(generation, layout);
        RegionIdentity.Write(mapping.GetSpan(0, EngineRegionLayout.HeaderPageSize), group);
        header.Write(mapping.GetSpan(0, EngineRegionHeader.Size));
        var region = new EngineRegion(mapping, header, group);
        for (int slot = 0; slot < layout.SlotCount; slot++)
        {
            region.Slots.Write(slot, null); // a free entry with a valid checksum
        }

        region.Control.SetEngineEnabled(true);
        return region;
    }

    /// <summary>Validates the header of a mapped region and attaches to it. On failure the mapping is left to the caller.</summary>
    public static RegionHeaderStatus TryAttach(SharedMemoryMapping mapping, out EngineRegion? region)
    {
        region = null;
        Span<byte> copy = stackalloc byte[RegionIdentity.Offset + RegionIdentity.Size];
        mapping.GetSpan(0, copy.Length).CopyTo(copy);
        RegionHeaderStatus status = EngineRegionHeader.TryRead(copy, mapping.Length, out EngineRegionHeader header);
        if (status != RegionHeaderStatus.Valid)
        {
            return status;
        }

        string? group = RegionIdentity.TryRead(copy);
        if (group is null)
        {
            return RegionHeaderStatus.IdentityInvalid;
        }

        region = new EngineRegion(mapping, header, group);
        return status;
    }

    /// <summary>Re-validates the shared header (agents poll this; the daemon's scrubber too).</summary>
    public RegionHeaderStatus CheckHeader()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Span<byte> copy = stackalloc byte[RegionIdentity.Offset + RegionIdentity.Size];
        Mapping.GetSpan(0, copy.Length).CopyTo(copy);
        RegionHeaderStatus status = EngineRegionHeader.TryRead(copy, Mapping.Length, out EngineRegionHeader header);
        if (status != RegionHeaderStatus.Valid)
        {
            return status;
        }

        if (header.Generation != Generation || header.Layout != Layout)
        {
            return RegionHeaderStatus.GenerationChanged;
        }

        return RegionIdentity.TryRead(copy) == Group ? RegionHeaderStatus.Valid : RegionHeaderStatus.IdentityInvalid;
    }

    /// <summary>Daemon repair: rewrites the header and identity this object was created or attached with.</summary>
    public void RewriteHeader()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        RegionIdentity.Write(Mapping.GetSpan(0, EngineRegionLayout.HeaderPageSize), Group);
        new EngineRegionHeader(Generation, Layout).Write(Mapping.GetSpan(0, EngineRegionHeader.Size));
    }

    public RingProducer OpenProducer(int from, int to)
    {
        CheckPair(from, to);
        return new RingProducer(Mapping, Layout.RingOffset(from, to), Layout.RingCapacity, Layout.MaxRecordPayload);
    }

    public RingConsumer OpenConsumer(int from, int to)
    {
        CheckPair(from, to);
        return new RingConsumer(Mapping, Layout.RingOffset(from, to), Layout.RingCapacity, Layout.MaxRecordPayload);
    }

    /// <summary>The doorbell of <paramref name="slot"/>: its receive thread waits on it, senders to it ring it.</summary>
    public EngineDoorbell OpenDoorbell(int slot) => OpenDoorbell(slot, EngineRegionLayout.ReceiveDoorbellOffset);

    /// <summary>The room doorbell of <paramref name="slot"/>: its sender waits on it when a ring it writes is full,
    /// the receivers of that slot's rings ring it after they consumed.</summary>
    public EngineDoorbell OpenRoomDoorbell(int slot) => OpenDoorbell(slot, EngineRegionLayout.RoomDoorbellOffset);

    private EngineDoorbell OpenDoorbell(int slot, int wordOffset)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if ((uint)slot >= (uint)Layout.SlotCount)
        {
            throw new ArgumentOutOfRangeException(nameof(slot), $"engine region '{Mapping.Path}': no doorbell for slot {slot} ({Layout.SlotCount} slots)");
        }

        return new EngineDoorbell(Mapping, Layout.DoorbellOffset(slot) + wordOffset, slot);
    }

    /// <summary>Traffic counters the two ends publish in a ring's control block (written by guests: display only).</summary>
    public RingStatistics ReadRingStatistics(int from, int to)
    {
        CheckPair(from, to);
        Span<byte> control = Mapping.GetSpan(Layout.RingOffset(from, to), EngineRegionLayout.RingControlSize);
        fixed (byte* c = control)
        {
            // SAFETY: the control block is 128 bytes (span length) and every offset below is < 128 and 8-aligned.
            return new RingStatistics(
                Volatile.Read(ref *(ulong*)(c + RingControl.RecordsWrittenOffset)),
                Volatile.Read(ref *(ulong*)(c + RingControl.BytesWrittenOffset)),
                Volatile.Read(ref *(ulong*)(c + RingControl.RecordsReadOffset)),
                Volatile.Read(ref *(ulong*)(c + RingControl.BytesReadOffset)),
                Volatile.Read(ref *(ulong*)(c + RingControl.TailOffset)) - Volatile.Read(ref *(ulong*)(c + RingControl.HeadOffset)));
        }
    }

    /// <summary>
    /// Empties a ring (daemon, when a slot is handed to a new domain): both indices back to zero, and the ring's
    /// reset generation moves on, so both ends — which keep their index privately — start over at zero instead
    /// of republishing their old one (which made the new occupant read the previous one's stale records, and
    /// counted a fault on the sender: issue 14 items 10 and 11).
    /// </summary>
    public void ResetRing(int from, int to)
    {
        CheckPair(from, to);
        Span<byte> control = Mapping.GetSpan(Layout.RingOffset(from, to), EngineRegionLayout.RingControlSize);
        fixed (byte* c = control)
        {
            // SAFETY: the control block is 128 bytes (span length); the generation word is at 24, 8-aligned.
            ref ulong generation = ref *(ulong*)(c + RingControl.ResetGenerationOffset);
            ulong next = Volatile.Read(ref generation) + 1;
            control.Clear();
            Volatile.Write(ref generation, next);
        }
    }

    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            Mapping.Handle.ReleaseLease();
            Mapping.Dispose();
        }
    }

    private void CheckPair(int from, int to)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!Layout.IsValidPair(from, to))
        {
            throw new ArgumentOutOfRangeException(nameof(from), $"engine region '{Mapping.Path}': no ring from slot {from} to slot {to} ({Layout.SlotCount} slots)");
        }
    }
}

/// <summary>Counters published in one ring's control block. Pending is tail − head as read (untrusted).</summary>
public readonly record struct RingStatistics(ulong RecordsWritten, ulong BytesWritten, ulong RecordsRead, ulong BytesRead, ulong Pending);
