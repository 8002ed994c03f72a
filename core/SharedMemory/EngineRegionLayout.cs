using System.Numerics;

namespace OverlayKvm.Core.SharedMemory;

/// <summary>
/// Where everything lives in an engine region (layout version 2, docs/engine-region.md):
/// <code>
/// [0, 4096)                       header page (EngineRegionHeader)
/// [4096, 4096 + slots*512)        slot table (SlotEntry)
/// [doorbellsOffset, +slots*64)    per slot, one cache line: +0 receiver doorbell, +32 room doorbell (EngineDoorbell)
/// [ringsOffset, ...)              one ring per ordered slot pair (from != to), each:
///                                 128-byte control block (producer line, consumer line) + capacity data bytes
/// </code>
/// The ring capacity is the largest power of two for which everything fits in the region.
/// </summary>
public readonly record struct EngineRegionLayout(long RegionSize, int SlotCount, int RingCapacity)
{
    public const int HeaderPageSize = 4096;
    public const int SlotSize = 512;
    public const int RingControlSize = 128;
    public const int DoorbellSize = 64;

    /// <summary>Inside a slot's doorbell line: the word its receive thread sleeps on ("data for me").</summary>
    public const int ReceiveDoorbellOffset = 0;

    /// <summary>Inside a slot's doorbell line: the word its sending thread sleeps on when a ring it writes is full ("room for me").</summary>
    public const int RoomDoorbellOffset = 32;
    public const int MinRingCapacity = 16 * 1024;
    public const int MaxRingCapacity = 1 << 30;
    public const int MaxSlots = 64;

    public int SlotTableOffset => HeaderPageSize;

    /// <summary>The doorbell page(s) start on a page boundary after the slot table (new in version 2).</summary>
    public int DoorbellsOffset => (int)AlignUp(HeaderPageSize + (long)SlotCount * SlotSize, 4096);

    /// <summary>Rings start on a page boundary after the doorbells.</summary>
    public int RingsOffset => (int)AlignUp(DoorbellsOffset + (long)SlotCount * DoorbellSize, 4096);

    public long DoorbellOffset(int slot) => DoorbellsOffset + (long)slot * DoorbellSize;

    public int RingCount => SlotCount * (SlotCount - 1);

    public long RingStride => RingControlSize + (long)RingCapacity;

    /// <summary>The largest payload one record may carry: half the ring, so a record always fits after a wrap.</summary>
    public int MaxRecordPayload => Math.Min(RingCapacity / 2 - RingRecord.HeaderSize, 1 << 20);

    public long SlotOffset(int slot) => SlotTableOffset + (long)slot * SlotSize;

    /// <summary>Ring index of the ordered pair: rows by sender, the diagonal (a slot to itself) skipped.</summary>
    public int RingIndex(int from, int to) => from * (SlotCount - 1) + (to < from ? to : to - 1);

    public long RingOffset(int from, int to) => RingsOffset + RingIndex(from, to) * RingStride;

    public bool IsValidPair(int from, int to) =>
        (uint)from < (uint)SlotCount && (uint)to < (uint)SlotCount && from != to;

    /// <summary>Computes the layout for a region of <paramref name="regionSize"/> bytes and <paramref name="slotCount"/> slots.</summary>
    public static bool TryCompute(long regionSize, int slotCount, out EngineRegionLayout layout, out string? error)
    {
        layout = default;
        if (slotCount < 2 || slotCount > MaxSlots)
        {
            error = $"slot count {slotCount} is outside [2, {MaxSlots}]";
            return false;
        }

        var probe = new EngineRegionLayout(regionSize, slotCount, 0);
        long perRing = (regionSize - probe.RingsOffset) / probe.RingCount - RingControlSize;
        if (perRing < MinRingCapacity)
        {
            error = $"region of {regionSize} bytes leaves {Math.Max(perRing, 0)} bytes per ring for {slotCount} slots " +
                    $"({probe.RingCount} rings); at least {MinRingCapacity} are needed: enlarge the region or lower the slot count";
            return false;
        }

        int capacity = (int)Math.Min(BitOperations.RoundUpToPowerOf2((ulong)perRing + 1) / 2, MaxRingCapacity);
        layout = new EngineRegionLayout(regionSize, slotCount, capacity);
        error = null;
        return true;
    }

    private static long AlignUp(long value, long alignment) => (value + alignment - 1) & ~(alignment - 1);
}
