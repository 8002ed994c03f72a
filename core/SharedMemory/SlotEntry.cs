using System.Buffers.Binary;
using System.Net;
using System.Text;

namespace OverlayKvm.Core.SharedMemory;

/// <summary>
/// One published slot of the region's registry (512 bytes, little-endian), written only by the daemon under a
/// sequence lock and checked by CRC-32C:
/// <code>
///   0 u32 sequence (odd while the daemon writes; readers retry)
///   4 u32 state (0 free, 1 active)
///   8 u64 last heartbeat, Unix milliseconds
///  16 u8  domain name length (at most 64), 17..81 domain name UTF-8
///  81 u8  address count (at most 16)
///  84 16 × { u8 family (4|6), 3 × 0, 16 bytes address (IPv4 in the first 4) }   → ends at 404
/// 508 u32 CRC-32C of bytes [4, 508)
/// </code>
/// The table is a published mirror for agents and operators; the daemon's in-memory registry stays authoritative
/// (query answers come from it, over the host channel), so a forged entry gains a guest nothing.
/// </summary>
public sealed record SlotEntry(string Domain, IReadOnlyList<IPAddress> Addresses, long HeartbeatUnixMs)
{
    public const int MaxDomainBytes = 64;
    public const int MaxAddresses = 16;

    internal const int SequenceOffset = 0;
    internal const int StateOffset = 4;
    internal const int HeartbeatOffset = 8;
    internal const int DomainLengthOffset = 16;
    internal const int DomainOffset = 17;
    internal const int AddressCountOffset = 81;
    internal const int AddressesOffset = 84;
    internal const int AddressSize = 20;
    internal const int ChecksumOffset = 508;
    internal const uint StateActive = 1;

    /// <summary>Writes the body (everything but the sequence word) and its checksum.</summary>
    internal void WriteBody(Span<byte> entry)
    {
        Span<byte> e = entry[..EngineRegionLayout.SlotSize];
        e[StateOffset..].Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(e[StateOffset..], StateActive);
        BinaryPrimitives.WriteInt64LittleEndian(e[HeartbeatOffset..], HeartbeatUnixMs);
        int nameBytes = Encoding.UTF8.GetBytes(Domain, e.Slice(DomainOffset, MaxDomainBytes));
        e[DomainLengthOffset] = (byte)nameBytes;
        e[AddressCountOffset] = (byte)Addresses.Count;
        for (int i = 0; i < Addresses.Count; i++)
        {
            Span<byte> a = e.Slice(AddressesOffset + i * AddressSize, AddressSize);
            a[0] = Addresses[i].AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? (byte)4 : (byte)6;
            Addresses[i].TryWriteBytes(a[4..], out _);
        }

        BinaryPrimitives.WriteUInt32LittleEndian(e[ChecksumOffset..], Crc32C.Compute(e[StateOffset..ChecksumOffset]));
    }

    /// <summary>Checks that an entry fits the format (name length, UTF-8, address count); throws for the daemon's own bugs.</summary>
    internal void Validate()
    {
        if (Encoding.UTF8.GetByteCount(Domain) > MaxDomainBytes)
        {
            throw new ArgumentException($"slot entry: domain name '{Domain}' exceeds {MaxDomainBytes} UTF-8 bytes", nameof(Domain));
        }

        if (Addresses.Count > MaxAddresses)
        {
            throw new ArgumentException($"slot entry for domain '{Domain}': {Addresses.Count} addresses exceed {MaxAddresses}", nameof(Addresses));
        }
    }

    /// <summary>Parses a private copy of an entry (never the shared memory itself: no double fetch).</summary>
    internal static SlotReadStatus TryParse(ReadOnlySpan<byte> e, out SlotEntry? entry)
    {
        entry = null;
        if (BinaryPrimitives.ReadUInt32LittleEndian(e[ChecksumOffset..]) != Crc32C.Compute(e[StateOffset..ChecksumOffset]))
        {
            return SlotReadStatus.ChecksumMismatch;
        }

        uint state = BinaryPrimitives.ReadUInt32LittleEndian(e[StateOffset..]);
        if (state != StateActive)
        {
            return state == 0 ? SlotReadStatus.Free : SlotReadStatus.Malformed;
        }

        int nameLength = e[DomainLengthOffset];
        int count = e[AddressCountOffset];
        if (nameLength == 0 || nameLength > MaxDomainBytes || count > MaxAddresses)
        {
            return SlotReadStatus.Malformed;
        }

        string domain;
        try
        {
            domain = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(e.Slice(DomainOffset, nameLength));
        }
        catch (DecoderFallbackException)
        {
            return SlotReadStatus.Malformed;
        }

        var addresses = new IPAddress[count];
        for (int i = 0; i < count; i++)
        {
            ReadOnlySpan<byte> a = e.Slice(AddressesOffset + i * AddressSize, AddressSize);
            if (a[0] == 4)
            {
                addresses[i] = new IPAddress(a.Slice(4, 4));
            }
            else if (a[0] == 6)
            {
                addresses[i] = new IPAddress(a.Slice(4, 16));
            }
            else
            {
                return SlotReadStatus.Malformed;
            }
        }

        entry = new SlotEntry(domain, addresses, BinaryPrimitives.ReadInt64LittleEndian(e[HeartbeatOffset..]));
        return SlotReadStatus.Valid;
    }
}

/// <summary>Outcome of reading one slot of the published registry.</summary>
public enum SlotReadStatus
{
    Valid = 0,
    Free,
    /// <summary>The daemon kept writing while we read (or the sequence word is stuck odd): try again later.</summary>
    Torn,
    ChecksumMismatch,
    Malformed,
    SlotOutOfRange,
}
