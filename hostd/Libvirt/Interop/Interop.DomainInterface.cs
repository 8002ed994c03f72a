using System.Runtime.InteropServices;

namespace OverlayKvm.HostDaemon.Libvirt;

internal static partial class Interop
{
    internal static partial class Libvirt
    {
        /// <summary>struct _virDomainInterfaceIPAddress (libvirt-domain.h).</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct DomainIpAddress
        {
            /// <summary>virIPAddrType: <see cref="IpAddressTypeIpv4"/> or <see cref="IpAddressTypeIpv6"/>.</summary>
            internal int Type;
            internal IntPtr Address;
            internal uint Prefix;
        }

        /// <summary>struct _virDomainInterface (libvirt-domain.h).</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct DomainInterface
        {
            internal IntPtr Name;
            internal IntPtr HardwareAddress;
            internal uint AddressCount;
            internal IntPtr Addresses;
        }

        /// <summary>virDomainInterfaceAddressesSource: the DHCP leases of the libvirt network the interface is on.</summary>
        internal const uint InterfaceAddressesSourceLease = 0;

        /// <summary>virDomainInterfaceAddressesSource: the host's ARP table (any network, once the guest has talked).</summary>
        internal const uint InterfaceAddressesSourceArp = 2;

        internal const int IpAddressTypeIpv4 = 0;
        internal const int IpAddressTypeIpv6 = 1;

        /// <summary>
        /// Fills <paramref name="interfaces"/> with a malloc'ed array of virDomainInterfacePtr (each freed with
        /// virDomainInterfaceFree, the array with free); returns the count or -1.
        /// </summary>
        [LibraryImport(LibraryName, EntryPoint = "virDomainInterfaceAddresses")]
        internal static partial int DomainInterfaceAddresses(SafeVirDomainHandle domain, out IntPtr interfaces, uint source, uint flags);

        [LibraryImport(LibraryName, EntryPoint = "virDomainInterfaceFree")]
        internal static partial void DomainInterfaceFree(IntPtr iface);
    }
}
