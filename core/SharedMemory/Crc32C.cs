using System.Buffers.Binary;
using System.Numerics;

namespace OverlayKvm.Core.SharedMemory;

/// <summary>CRC-32C (Castagnoli) on the CPU's crc32 instruction: detects random corruption of the region's
/// header and slot entries. It is not a MAC: a hostile writer can recompute it (see docs/threat-model-engine.md).</summary>
internal static class Crc32C
{
    internal static uint Compute(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFF_FFFFu;
        int i = 0;
        for (; i + 8 <= data.Length; i += 8)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data[i..]));
        }

        for (; i < data.Length; i++)
        {
            crc = BitOperations.Crc32C(crc, data[i]);
        }

        return ~crc;
    }
}
