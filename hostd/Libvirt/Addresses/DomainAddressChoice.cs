using System.Net;
using System.Net.Sockets;

namespace OverlayKvm.HostDaemon.Libvirt;

/// <summary>
/// Which of a domain's reported addresses becomes its address in the store: the first IPv4 one (the underlay of
/// this project's hosts is IPv4 first), else the first global IPv6 one. Link-local, loopback and unspecified
/// addresses are never chosen: peers could not reach the VM through them.
/// </summary>
internal static class DomainAddressChoice
{
    public static IPAddress? Choose(IReadOnlyList<DomainInterfaceAddress> addresses)
    {
        IPAddress? ipv6 = null;
        foreach (var entry in addresses)
        {
            var address = entry.Address.IsIPv4MappedToIPv6 ? entry.Address.MapToIPv4() : entry.Address;
            if (!Usable(address))
            {
                continue;
            }
            if (address.AddressFamily == AddressFamily.InterNetwork)
            {
                return address;
            }
            ipv6 ??= address;
        }
        return ipv6;
    }

    private static bool Usable(IPAddress address)
    {
        if (IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any))
        {
            return false;
        }
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            Span<byte> bytes = stackalloc byte[4];
            address.TryWriteBytes(bytes, out _);
            return !(bytes[0] == 169 && bytes[1] == 254); // IPv4 link-local (no DHCP answer)
        }
        return !address.IsIPv6LinkLocal && !address.IsIPv6Multicast;
    }
}
