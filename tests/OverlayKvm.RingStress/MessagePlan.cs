using System.Buffers.Binary;

namespace OverlayKvm.RingStress;

/// <summary>
/// The seeded message sequence both processes derive independently: message <c>i</c> has a random size in
/// [min, max] and is a slice of a random pool at a random offset, its first bytes replaced by <c>i</c>
/// (little-endian). The consumer rebuilds the expectation and compares every byte, so loss, reordering,
/// duplication and corruption are all caught without trusting anything the producer sends.
/// </summary>
internal sealed class MessagePlan
{
    private const int PoolExtra = 64 * 1024;
    private readonly byte[] _pool;
    private readonly int _min;
    private readonly int _max;
    private ulong _state;

    public MessagePlan(ulong seed, int min, int max)
    {
        if (min < 1 || max < min)
        {
            throw new ArgumentException($"message sizes: need 1 <= min <= max, got {min}..{max}");
        }

        _min = min;
        _max = max;
        _state = seed | 1;
        _pool = new byte[max + PoolExtra];
        ulong fill = seed ^ 0x9E37_79B9_7F4A_7C15;
        for (int i = 0; i + 8 <= _pool.Length; i += 8)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(_pool.AsSpan(i), Next(ref fill));
        }
    }

    /// <summary>Advances to message <paramref name="sequence"/>'s parameters (call once per message, in order).</summary>
    public (int Size, int Offset) NextMessage()
    {
        ulong r = Next(ref _state);
        int size = _min + (int)((r >> 32) % (ulong)(_max - _min + 1));
        int offset = (int)((uint)r % (uint)PoolExtra);
        return (size, offset);
    }

    public ReadOnlySpan<byte> Body(int offset, int size) => _pool.AsSpan(offset, size);

    /// <summary>Writes message <paramref name="sequence"/> into <paramref name="destination"/>.</summary>
    public void Fill(long sequence, int offset, Span<byte> destination)
    {
        Body(offset, destination.Length).CopyTo(destination);
        StampSequence(sequence, destination);
    }

    public static void StampSequence(long sequence, Span<byte> destination)
    {
        Span<byte> seq = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(seq, sequence);
        seq[..Math.Min(8, destination.Length)].CopyTo(destination);
    }

    /// <summary>The sequence number stamped in a message of at least 8 bytes.</summary>
    public static long ReadSequence(ReadOnlySpan<byte> message) => BinaryPrimitives.ReadInt64LittleEndian(message);

    private static ulong Next(ref ulong x)
    {
        // xorshift64*: fast, good enough to vary sizes and offsets; not cryptographic and need not be.
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        return x * 0x2545_F491_4F6C_DD1DUL;
    }
}
