using OverlayKvm.Core.SharedMemory;
using OverlayKvm.Fuzz.Fixtures;

namespace OverlayKvm.Fuzz.Targets;

/// <summary>
/// Ring records between two slots of an engine region, written by a hostile peer (4 slots, 1 MiB region in a private
/// /dev/shm directory, laid out by <c>EngineRegion.Initialize</c> as overlayd does). Per input:
/// <code>
/// byte0 % 2 == 0: the rest is ring 1→0 as the hostile producer leaves it (control block: tail, statistics, head;
///                 then record headers and payloads); slot 0's consumer attaches and reads until empty
///              1: the rest is ring 0→1's control block and data as the hostile consumer leaves it; slot 0's
///                 producer writes records of every size class into it
/// </code>
/// Findings, besides any exception (a read outside the ring would be a crash): a record longer than the layout's
/// maximum payload, or more records than the ring can hold. Nothing is a rejection: the ring's contract is typed
/// results and fault counters.
/// </summary>
internal sealed class RingTarget : FuzzTarget
{
    private static readonly int[] WriteSizes = [1, 7, 8, 64, 1500, 9000];
    private readonly ScratchDirectory _directory = new("ring", sharedMemory: true);
    private readonly EngineRegion _region;
    private readonly byte[] _buffer;
    private readonly byte[] _payload = new byte[9000];

    public RingTarget()
    {
        var mapping = SharedMemoryMapping.CreateOrOpen(Path.Combine(_directory.Path, "overlaykvm-fz"), 1 << 20,
            UnixFileMode.UserRead | UnixFileMode.UserWrite, null);
        _region = EngineRegion.Initialize(mapping, "fz", 4, 1);
        _buffer = new byte[_region.Layout.MaxRecordPayload];
    }

    public override string Name => "ring";

    protected override void Execute(ReadOnlySpan<byte> input)
    {
        if (input.IsEmpty)
        {
            return;
        }
        bool consume = (input[0] & 1) == 0;
        var (from, to) = consume ? (1, 0) : (0, 1);
        EngineRegionLayout layout = _region.Layout;
        int ringBytes = EngineRegionLayout.RingControlSize + layout.RingCapacity;
        Span<byte> ring = _region.Mapping.GetSpan(layout.RingOffset(from, to), ringBytes);
        ring.Clear();
        ReadOnlySpan<byte> rest = input.Slice(1);
        rest.Slice(0, Math.Min(rest.Length, ringBytes)).CopyTo(ring);

        if (consume)
        {
            Consume();
        }
        else
        {
            Produce();
        }
    }

    private void Consume()
    {
        using RingConsumer consumer = _region.OpenConsumer(1, 0);
        long limit = _region.Layout.RingCapacity / 8 + 2;
        for (long records = 0; ; records++)
        {
            RingReadResult result = consumer.TryRead(_buffer, out int length);
            if (result != RingReadResult.Message)
            {
                return;
            }
            if (length <= 0 || length > _region.Layout.MaxRecordPayload)
            {
                throw new InvalidOperationException($"ring: consumer returned a record of {length} bytes (maximum {_region.Layout.MaxRecordPayload})");
            }
            if (records > limit)
            {
                throw new InvalidOperationException($"ring: more than {limit} records read from a ring of {_region.Layout.RingCapacity} bytes");
            }
        }
    }

    private void Produce()
    {
        using RingProducer producer = _region.OpenProducer(0, 1);
        foreach (int size in WriteSizes)
        {
            if (size <= producer.MaxPayload)
            {
                producer.TryWrite(_payload.AsSpan(0, size));
            }
        }
    }

    public override void Dispose()
    {
        _region.Dispose();
        _directory.Dispose();
    }
}
