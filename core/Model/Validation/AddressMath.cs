using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace OverlayKvm.Core.Model.Validation;

/// <summary>
/// Addresses as unsigned integers (IPv4 in the low 32 bits, IPv6 in all 128) so that containment, the first
/// and last address of a space, and "lowest free address" are plain arithmetic for both families.
/// </summary>
public static class AddressMath
{
    public static UInt128 ToNumber(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[16];
        if (!address.TryWriteBytes(bytes, out var written))
        {
            throw new ArgumentException($"address {address} has an unsupported length", nameof(address));
        }

        return written == 4
            ? BinaryPrimitives.ReadUInt32BigEndian(bytes)
            : BinaryPrimitives.ReadUInt128BigEndian(bytes);
    }

    public static IPAddress FromNumber(UInt128 value, AddressFamily family)
    {
        if (family == AddressFamily.InterNetwork)
        {
            Span<byte> v4 = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(v4, (uint)value);
            return new IPAddress(v4);
        }

        Span<byte> v6 = stackalloc byte[16];
        BinaryPrimitives.WriteUInt128BigEndian(v6, value);
        return new IPAddress(v6);
    }

    public static int AddressBits(AddressFamily family) => family == AddressFamily.InterNetwork ? 32 : 128;

    /// <summary>First (network) and last (IPv4 broadcast) address of a space, as numbers.</summary>
    public static (UInt128 First, UInt128 Last) Bounds(IPNetwork space)
    {
        var bits = AddressBits(space.BaseAddress.AddressFamily);
        var hostBits = bits - space.PrefixLength;
        var first = ToNumber(space.BaseAddress);
        var span = hostBits == 128 ? UInt128.MaxValue : (UInt128.One << hostBits) - 1;
        return (first, first + span);
    }

    /// <summary>
    /// One canonical form per address: IPv4-mapped IPv6 becomes IPv4 and IPv6 scope ids are dropped, so that
    /// uniqueness checks cannot be bypassed by spelling the same address differently.
    /// </summary>
    public static IPAddress Canonical(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            return address.MapToIPv4();
        }

        return address.AddressFamily == AddressFamily.InterNetworkV6 && address.ScopeId != 0
            ? new IPAddress(address.GetAddressBytes())
            : address;
    }

    public static bool Overlaps(IPNetwork a, IPNetwork b) =>
        a.BaseAddress.AddressFamily == b.BaseAddress.AddressFamily
        && (a.Contains(b.BaseAddress) || b.Contains(a.BaseAddress));
}
