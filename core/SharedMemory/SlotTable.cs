namespace OverlayKvm.Core.SharedMemory;

/// <summary>The region's slot table: the daemon publishes <see cref="SlotEntry"/>s, agents and tools read them.</summary>
public sealed unsafe class SlotTable
{
    private const int MaxReadAttempts = 4;
    private readonly EngineRegion _owner;
    private readonly byte* _table;
    private readonly int _slotCount;

    internal SlotTable(EngineRegion owner, byte* table, int slotCount)
    {
        _owner = owner;
        _table = table;
        _slotCount = slotCount;
    }

    public int Count => _slotCount;

    /// <summary>Reads a consistent private copy of a slot (sequence lock), then validates it.</summary>
    public SlotReadStatus TryRead(int slot, out SlotEntry? entry)
    {
        entry = null;
        if ((uint)slot >= (uint)_slotCount)
        {
            return SlotReadStatus.SlotOutOfRange;
        }

        _owner.ThrowIfDisposed();
        Span<byte> copy = stackalloc byte[EngineRegionLayout.SlotSize];
        for (int attempt = 0; attempt < MaxReadAttempts; attempt++)
        {
            uint before = Volatile.Read(ref Sequence(slot));
            if ((before & 1) != 0)
            {
                Thread.SpinWait(16);
                continue;
            }

            Entry(slot).CopyTo(copy);
            Interlocked.MemoryBarrier();
            if (Volatile.Read(ref Sequence(slot)) == before)
            {
                return SlotEntry.TryParse(copy, out entry);
            }
        }

        return SlotReadStatus.Torn;
    }

    /// <summary>Publishes an entry (daemon only; one writer per region, serialised by the registry's lock).</summary>
    public void Write(int slot, SlotEntry? entry)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)slot, (uint)_slotCount, nameof(slot));
        _owner.ThrowIfDisposed();
        entry?.Validate();
        // Start from an even value even if a guest left the word odd, so readers never wait on a stuck writer.
        uint sequence = Volatile.Read(ref Sequence(slot)) & ~1u;
        Volatile.Write(ref Sequence(slot), sequence + 1);
        Span<byte> e = Entry(slot);
        if (entry is null)
        {
            e[SlotEntry.StateOffset..].Clear();
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(e[SlotEntry.ChecksumOffset..],
                Crc32C.Compute(e[SlotEntry.StateOffset..SlotEntry.ChecksumOffset]));
        }
        else
        {
            entry.WriteBody(e);
        }

        Volatile.Write(ref Sequence(slot), sequence + 2);
    }

    // SAFETY: slot < slot count (checked by every caller); the table holds slotCount entries of SlotSize bytes
    // inside the mapping, which the owning EngineRegion keeps alive.
    private Span<byte> Entry(int slot) => new(_table + (long)slot * EngineRegionLayout.SlotSize, EngineRegionLayout.SlotSize);

    // SAFETY: as above; the sequence word is the entry's first, 4-aligned u32.
    private ref uint Sequence(int slot) => ref *(uint*)(_table + (long)slot * EngineRegionLayout.SlotSize);
}
