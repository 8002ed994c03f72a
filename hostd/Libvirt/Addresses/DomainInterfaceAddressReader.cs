using System.Net;
using System.Runtime.InteropServices;

namespace OverlayKvm.HostDaemon.Libvirt;

/// <summary>Reads virDomainInterfaceAddresses into managed records and frees everything libvirt allocated.</summary>
internal static class DomainInterfaceAddressReader
{
    /// <param name="source"><see cref="Interop.Libvirt.InterfaceAddressesSourceLease"/> or <see cref="Interop.Libvirt.InterfaceAddressesSourceArp"/>.</param>
    /// <exception cref="LibvirtException">libvirt refused (an inactive domain, a source the driver does not support).</exception>
    public static IReadOnlyList<DomainInterfaceAddress> Read(LibvirtDomain domain, uint source)
    {
        int count = LibvirtErrors.Check(
            Interop.Libvirt.DomainInterfaceAddresses(domain.Handle, out IntPtr array, source, 0),
            "virDomainInterfaceAddresses", $"domain '{domain.Name}' (source {SourceName(source)})");
        var result = new List<DomainInterfaceAddress>();
        if (array == IntPtr.Zero)
        {
            return result; // count 0: libvirt may leave the array unset
        }

        try
        {
            for (int i = 0; i < count; i++)
            {
                ReadInterface(Marshal.ReadIntPtr(array, i * IntPtr.Size), result);
            }
        }
        finally
        {
            // Every interface is ours to free, even when reading one of them failed.
            for (int i = 0; i < count; i++)
            {
                Interop.Libvirt.DomainInterfaceFree(Marshal.ReadIntPtr(array, i * IntPtr.Size));
            }
            Interop.Libc.Free(array);
        }
        return result;
    }

    public static string SourceName(uint source) => source switch
    {
        Interop.Libvirt.InterfaceAddressesSourceLease => "lease",
        Interop.Libvirt.InterfaceAddressesSourceArp => "arp",
        _ => source.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    private static void ReadInterface(IntPtr pointer, List<DomainInterfaceAddress> into)
    {
        var iface = Marshal.PtrToStructure<Interop.Libvirt.DomainInterface>(pointer);
        string name = Marshal.PtrToStringUTF8(iface.Name) ?? string.Empty;
        string? mac = Marshal.PtrToStringUTF8(iface.HardwareAddress);
        int size = Marshal.SizeOf<Interop.Libvirt.DomainIpAddress>();
        for (int j = 0; j < iface.AddressCount; j++)
        {
            var entry = Marshal.PtrToStructure<Interop.Libvirt.DomainIpAddress>(iface.Addresses + (j * size));
            // libvirt gives the text form; a string that does not parse is skipped rather than guessed at.
            if (IPAddress.TryParse(Marshal.PtrToStringUTF8(entry.Address), out var address))
            {
                into.Add(new DomainInterfaceAddress(name, mac, address, (int)entry.Prefix));
            }
        }
    }
}
