namespace OverlayKvm.Core.SharedMemory;

/// <summary>
/// A record in a ring's data area, 8-byte aligned:
/// <code>
/// u32 word0: bit 31 = padding flag, bits 0..30 = payload length (padding: bytes to skip to the ring's end)
/// u32 word1: ~word0 (a cheap integrity check: a torn or overwritten record header does not validate)
/// payload, then zero to seven bytes of alignment
/// </code>
/// Records never straddle the end of the ring: a writer that does not fit before the end writes a padding record
/// covering the rest and continues at offset 0.
/// </summary>
internal static class RingRecord
{
    internal const int HeaderSize = 8;
    internal const uint PaddingFlag = 0x8000_0000u;
    internal const uint LengthMask = 0x7FFF_FFFFu;

    internal static ulong SizeFor(uint payloadLength) => (HeaderSize + (ulong)payloadLength + 7) & ~7UL;
}

/// <summary>
/// The 128-byte control block in front of each ring's data, native-endian (same host). The producer writes only
/// the first cache line, the consumer only the second, so neither line bounces between writers.
/// </summary>
internal static class RingControl
{
    internal const int TailOffset = 0;            // u64, bytes ever written (producer)
    internal const int RecordsWrittenOffset = 8;  // u64 (producer, statistics)
    internal const int BytesWrittenOffset = 16;   // u64 payload bytes (producer, statistics)
    internal const int ResetGenerationOffset = 24; // u64, bumped by the daemon each time it empties the ring
    internal const int HeadOffset = 64;           // u64, bytes ever consumed (consumer)
    internal const int RecordsReadOffset = 72;    // u64 (consumer, statistics)
    internal const int BytesReadOffset = 80;      // u64 payload bytes (consumer, statistics)
}

/// <summary>Outcome of <see cref="RingProducer.TryWrite"/>.</summary>
public enum RingWriteResult
{
    Written = 0,
    /// <summary>Not enough free space now; retry later (or fall back to the network path).</summary>
    Full,
    /// <summary>Payload empty or larger than the region's max record payload; nothing written.</summary>
    InvalidLength,
    /// <summary>The consumer's index is inconsistent (hostile or corrupt memory); nothing written, counted.</summary>
    Corrupt,
}

/// <summary>Outcome of <see cref="RingConsumer.TryRead"/>.</summary>
public enum RingReadResult
{
    Message = 0,
    Empty,
    /// <summary>The next record is larger than the destination; nothing consumed, the needed length is returned.</summary>
    DestinationTooSmall,
    /// <summary>Corruption detected: the pending bytes were dropped (counted) and the ring resynchronised.</summary>
    Corrupt,
}

/// <summary>Why a ring endpoint refused memory it read from the other side (drop reasons, counted).</summary>
public enum RingFault
{
    /// <summary>The other side's index is more than a capacity away from ours, or misaligned.</summary>
    ForeignIndexInvalid = 0,
    /// <summary>Our own published index was changed behind our back (found at attach).</summary>
    OwnIndexInvalid,
    /// <summary>Record header words do not match (word1 != ~word0).</summary>
    RecordCheckMismatch,
    /// <summary>Record length zero, above the max payload, beyond the written bytes or past the ring's end.</summary>
    RecordLengthInvalid,
    /// <summary>A padding record that does not end exactly at the ring's end.</summary>
    PaddingInvalid,
}

/// <summary>Fault counters of one ring endpoint, by <see cref="RingFault"/>; safe to read from another thread.</summary>
public sealed class RingFaultCounters
{
    private readonly long[] _counts = new long[Enum.GetValues<RingFault>().Length];

    public long DroppedBytes => Volatile.Read(ref _droppedBytes);

    private long _droppedBytes;

    public long Get(RingFault fault) => Volatile.Read(ref _counts[(int)fault]);

    public long Total
    {
        get
        {
            long sum = 0;
            for (int i = 0; i < _counts.Length; i++)
            {
                sum += Volatile.Read(ref _counts[i]);
            }

            return sum;
        }
    }

    internal void Count(RingFault fault, ulong droppedBytes)
    {
        Interlocked.Increment(ref _counts[(int)fault]);
        Interlocked.Add(ref _droppedBytes, (long)Math.Min(droppedBytes, long.MaxValue));
    }
}
