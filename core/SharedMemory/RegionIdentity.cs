using System.Buffers.Binary;
using System.Text;

namespace OverlayKvm.Core.SharedMemory;

/// <summary>
/// Which group a region serves, at offset 128 of the header page, so a guest with several ivshmem devices can
/// tell them apart (PCI order is not a contract):
/// <code>
/// 128 u8  group name length (1..64)
/// 129     group name, UTF-8 (64 bytes)
/// 196 u32 CRC-32C of bytes [128, 196)
/// </code>
/// Written by the daemon with the header; repaired by its scrubber like the header.
/// </summary>
internal static class RegionIdentity
{
    internal const int Offset = 128;
    internal const int MaxNameBytes = 64;
    private const int NameOffset = 1;
    private const int ChecksumOffset = 68;
    internal const int Size = 72;

    internal static void Write(Span<byte> headerPage, string group)
    {
        Span<byte> id = headerPage.Slice(Offset, Size);
        id.Clear();
        if (Encoding.UTF8.GetByteCount(group) is 0 or > MaxNameBytes)
        {
            throw new ArgumentException($"engine region: group name '{group}' must be 1..{MaxNameBytes} UTF-8 bytes", nameof(group));
        }

        id[0] = (byte)Encoding.UTF8.GetBytes(group, id.Slice(NameOffset, MaxNameBytes));
        BinaryPrimitives.WriteUInt32LittleEndian(id[ChecksumOffset..], Crc32C.Compute(id[..ChecksumOffset]));
    }

    /// <summary>Reads the group name from a private copy of the identity bytes; null when damaged.</summary>
    internal static string? TryRead(ReadOnlySpan<byte> headerPage)
    {
        ReadOnlySpan<byte> id = headerPage.Slice(Offset, Size);
        int length = id[0];
        if (length is 0 or > MaxNameBytes ||
            BinaryPrimitives.ReadUInt32LittleEndian(id[ChecksumOffset..]) != Crc32C.Compute(id[..ChecksumOffset]))
        {
            return null;
        }

        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(id.Slice(NameOffset, length));
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }
}
