using System.Collections.Concurrent;

namespace OverlayKvm.Core.Buffers;

/// <summary>
/// A bounded pool of fixed-size, pinned packet buffers. The datapath rents one per packet and returns it when the
/// packet has been written out, so steady-state traffic allocates nothing. Bounded: when every buffer is out,
/// <see cref="TryRent"/> fails and the caller counts a drop instead of growing memory without limit.
/// <see cref="Outstanding"/> lets tests assert at teardown that nothing leaked.
/// </summary>
internal sealed class PacketBufferPool
{
    private readonly ConcurrentBag<byte[]> _free = new();
    private readonly int _capacity;
    private int _created;
    private int _outstanding;

    public PacketBufferPool(int bufferSize, int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bufferSize, 64);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        BufferSize = bufferSize;
        _capacity = capacity;
    }

    public int BufferSize { get; }

    /// <summary>Buffers rented and not yet returned.</summary>
    public int Outstanding => Volatile.Read(ref _outstanding);

    public bool TryRent(out byte[] buffer)
    {
        if (!_free.TryTake(out buffer!))
        {
            if (Interlocked.Increment(ref _created) > _capacity)
            {
                Interlocked.Decrement(ref _created);
                buffer = null!;
                return false;
            }
            // Pinned so native reads/writes (TUN, sockets) never pin per call, and the GC never moves them.
            buffer = GC.AllocateUninitializedArray<byte>(BufferSize, pinned: true);
        }
        Interlocked.Increment(ref _outstanding);
        return true;
    }

    public void Return(byte[] buffer)
    {
        if (buffer.Length != BufferSize)
        {
            throw new ArgumentException($"buffer of {buffer.Length} bytes does not belong to this pool of {BufferSize}-byte buffers", nameof(buffer));
        }
        Interlocked.Decrement(ref _outstanding);
        _free.Add(buffer);
    }
}
