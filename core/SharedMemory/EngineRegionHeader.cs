using System.Buffers.Binary;

namespace OverlayKvm.Core.SharedMemory;

/// <summary>
/// The immutable part of the region header, written by the daemon and protected by a CRC-32C
/// (all little-endian):
/// <code>
///  0 u64 magic "OKVMENG\0"     24 u64 region size       40 u32 slot table offset
///  8 u16 layout version (2)    32 u32 ring capacity     44 u32 rings offset
/// 10 u16 header size (64)      36 u32 slot size (512)   48 u32 max record payload
/// 12 u32 slot count                                     52 u32 CRC-32C of bytes [0, 52)
/// 16 u64 generation                                     56 u64 reserved (0)
/// </code>
/// The mutable control words follow at offset 64 (<see cref="EngineRegionControl"/>).
/// </summary>
public readonly record struct EngineRegionHeader(ulong Generation, EngineRegionLayout Layout)
{
    public const ulong Magic = 0x0047_4E45_4D56_4B4F; // "OKVMENG\0" read as a little-endian u64
    // 2: a doorbell page (one futex word per slot) between the slot table and the rings; the rings moved.
    public const ushort LayoutVersion = 2;
    public const int Size = 64;

    private const int MagicOffset = 0;
    private const int VersionOffset = 8;
    private const int HeaderSizeOffset = 10;
    private const int SlotCountOffset = 12;
    private const int GenerationOffset = 16;
    private const int RegionSizeOffset = 24;
    private const int RingCapacityOffset = 32;
    private const int SlotSizeOffset = 36;
    private const int SlotTableOffsetOffset = 40;
    private const int RingsOffsetOffset = 44;
    private const int MaxPayloadOffset = 48;
    private const int ChecksumOffset = 52;

    public void Write(Span<byte> destination)
    {
        Span<byte> h = destination[..Size];
        h.Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(h[MagicOffset..], Magic);
        BinaryPrimitives.WriteUInt16LittleEndian(h[VersionOffset..], LayoutVersion);
        BinaryPrimitives.WriteUInt16LittleEndian(h[HeaderSizeOffset..], Size);
        BinaryPrimitives.WriteUInt32LittleEndian(h[SlotCountOffset..], (uint)Layout.SlotCount);
        BinaryPrimitives.WriteUInt64LittleEndian(h[GenerationOffset..], Generation);
        BinaryPrimitives.WriteUInt64LittleEndian(h[RegionSizeOffset..], (ulong)Layout.RegionSize);
        BinaryPrimitives.WriteUInt32LittleEndian(h[RingCapacityOffset..], (uint)Layout.RingCapacity);
        BinaryPrimitives.WriteUInt32LittleEndian(h[SlotSizeOffset..], EngineRegionLayout.SlotSize);
        BinaryPrimitives.WriteUInt32LittleEndian(h[SlotTableOffsetOffset..], (uint)Layout.SlotTableOffset);
        BinaryPrimitives.WriteUInt32LittleEndian(h[RingsOffsetOffset..], (uint)Layout.RingsOffset);
        BinaryPrimitives.WriteUInt32LittleEndian(h[MaxPayloadOffset..], (uint)Layout.MaxRecordPayload);
        BinaryPrimitives.WriteUInt32LittleEndian(h[ChecksumOffset..], Crc32C.Compute(h[..ChecksumOffset]));
    }

    /// <summary>
    /// Parses and validates a header against the mapped length: magic, version, checksum, and that every derived
    /// offset equals what this layout version computes for these parameters (so no field can point outside the region).
    /// </summary>
    public static RegionHeaderStatus TryRead(ReadOnlySpan<byte> source, long mappedLength, out EngineRegionHeader header)
    {
        header = default;
        if (source.Length < Size)
        {
            return RegionHeaderStatus.Truncated;
        }

        ReadOnlySpan<byte> h = source[..Size];
        if (BinaryPrimitives.ReadUInt64LittleEndian(h[MagicOffset..]) != Magic)
        {
            return RegionHeaderStatus.BadMagic;
        }

        if (BinaryPrimitives.ReadUInt16LittleEndian(h[VersionOffset..]) != LayoutVersion ||
            BinaryPrimitives.ReadUInt16LittleEndian(h[HeaderSizeOffset..]) != Size)
        {
            return RegionHeaderStatus.UnsupportedVersion;
        }

        if (BinaryPrimitives.ReadUInt32LittleEndian(h[ChecksumOffset..]) != Crc32C.Compute(h[..ChecksumOffset]))
        {
            return RegionHeaderStatus.ChecksumMismatch;
        }

        long regionSize = (long)BinaryPrimitives.ReadUInt64LittleEndian(h[RegionSizeOffset..]);
        if (regionSize != mappedLength)
        {
            return RegionHeaderStatus.SizeMismatch;
        }

        uint slotCount = BinaryPrimitives.ReadUInt32LittleEndian(h[SlotCountOffset..]);
        if (slotCount > EngineRegionLayout.MaxSlots ||
            !EngineRegionLayout.TryCompute(regionSize, (int)slotCount, out EngineRegionLayout layout, out _))
        {
            return RegionHeaderStatus.LayoutMismatch;
        }

        if (BinaryPrimitives.ReadUInt32LittleEndian(h[RingCapacityOffset..]) != (uint)layout.RingCapacity ||
            BinaryPrimitives.ReadUInt32LittleEndian(h[SlotSizeOffset..]) != EngineRegionLayout.SlotSize ||
            BinaryPrimitives.ReadUInt32LittleEndian(h[SlotTableOffsetOffset..]) != (uint)layout.SlotTableOffset ||
            BinaryPrimitives.ReadUInt32LittleEndian(h[RingsOffsetOffset..]) != (uint)layout.RingsOffset ||
            BinaryPrimitives.ReadUInt32LittleEndian(h[MaxPayloadOffset..]) != (uint)layout.MaxRecordPayload)
        {
            return RegionHeaderStatus.LayoutMismatch;
        }

        header = new EngineRegionHeader(BinaryPrimitives.ReadUInt64LittleEndian(h[GenerationOffset..]), layout);
        return RegionHeaderStatus.Valid;
    }
}

/// <summary>Outcome of validating a region header; everything but <see cref="Valid"/> means "do not use the rings".</summary>
public enum RegionHeaderStatus
{
    Valid = 0,
    Truncated,
    BadMagic,
    UnsupportedVersion,
    ChecksumMismatch,
    SizeMismatch,
    LayoutMismatch,
    /// <summary>Valid header, but a generation other than the one attached to: the daemon re-created the region.</summary>
    GenerationChanged,
    /// <summary>The group identity block (offset 128) is damaged or names another group.</summary>
    IdentityInvalid,
}
