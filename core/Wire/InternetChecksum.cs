using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace OverlayKvm.Core.Wire;

/// <summary>
/// The Internet checksum (RFC 1071) for the segmenter. Sums are kept in little-endian word order: the one's
/// complement sum is byte-order independent (RFC 1071 §2(B)), so loading 32-bit words natively and writing the folded
/// result back little-endian gives the same bytes as the big-endian definition, at memory speed.
/// </summary>
internal static class InternetChecksum
{
    /// <summary>Adds the bytes of <paramref name="data"/> (as 16-bit words from its start) to a running sum.</summary>
    public static ulong Add(ulong sum, ReadOnlySpan<byte> data)
    {
        // Whole super-packets are verified on the engine path and every received segment on the sealed path: this
        // loop was 16 % of the receiving engine thread (perf, issue 16). 16 bytes a step, each 32-bit word widened
        // into a 64-bit lane (no carry lost: a lane gains < 2^33 per step); the rest goes word by word below.
        // Vector128, not Vector256: the Native AOT agent is built for the baseline x64 ISA, where Vector256 is not
        // accelerated (a Vector256 loop measured no faster there), while SSE2 always is.
        if (BitConverter.IsLittleEndian && Vector128.IsHardwareAccelerated && data.Length >= 2 * Vector128<byte>.Count)
        {
            ref byte start = ref MemoryMarshal.GetReference(data);
            Vector128<ulong> lanes = Vector128<ulong>.Zero;
            int i = 0;
            for (; i <= data.Length - Vector128<byte>.Count; i += Vector128<byte>.Count)
            {
                (Vector128<ulong> low, Vector128<ulong> high) = Vector128.Widen(Vector128.LoadUnsafe(ref start, (nuint)i).AsUInt32());
                lanes += low + high;
            }

            sum += Vector128.Sum(lanes);
            data = data.Slice(i);
        }

        ReadOnlySpan<uint> words = MemoryMarshal.Cast<byte, uint>(data);
        for (int i = 0; i < words.Length; i++)
        {
            sum += BitConverter.IsLittleEndian ? words[i] : BinaryPrimitives.ReverseEndianness(words[i]);
        }

        int rest = words.Length * 4;
        if (data.Length - rest >= 2)
        {
            sum += BinaryPrimitives.ReadUInt16LittleEndian(data.Slice(rest));
            rest += 2;
        }

        if (rest < data.Length)
        {
            sum += data[rest];
        }

        return sum;
    }

    /// <summary>
    /// The IPv4 pseudo-header (addresses from the packet, protocol, transport length) as a running sum; the
    /// addresses' bytes are summed in place, the two numbers are byte-swapped into little-endian word order.
    /// </summary>
    public static ulong PseudoHeader(ReadOnlySpan<byte> ipv4Header, byte protocol, int transportLength)
    {
        ulong sum = Add(0, ipv4Header.Slice(12, 8));
        sum += (ulong)protocol << 8;
        sum += BinaryPrimitives.ReverseEndianness((ushort)transportLength);
        return sum;
    }

    /// <summary>Folds a running sum to 16 bits and complements it (little-endian word order).</summary>
    public static ushort Finish(ulong sum)
    {
        while ((sum >> 16) != 0)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }

        return (ushort)~sum;
    }

    /// <summary>Stores a <see cref="Finish"/>ed value at a checksum field (2 bytes).</summary>
    public static void Store(Span<byte> field, ushort value) => BinaryPrimitives.WriteUInt16LittleEndian(field, value);
}
