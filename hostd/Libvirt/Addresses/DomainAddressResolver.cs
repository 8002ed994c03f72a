using System.Net;

namespace OverlayKvm.HostDaemon.Libvirt;

/// <summary>
/// Asks libvirt for a running domain's address (issue 11): the DHCP leases of its libvirt network first (exact, known
/// as soon as the guest asked), then the host's ARP table (any bridged network, once the guest has sent a frame).
/// </summary>
internal static class DomainAddressResolver
{
    /// <summary>The chosen address and the source that gave it, or null while libvirt knows none.</summary>
    /// <exception cref="LibvirtException">The ARP query failed (the lease query failing alone falls through to ARP).</exception>
    public static (IPAddress Address, string Source)? Resolve(LibvirtDomain domain)
    {
        LibvirtException? leaseFailure = null;
        try
        {
            if (DomainAddressChoice.Choose(DomainInterfaceAddressReader.Read(domain, Interop.Libvirt.InterfaceAddressesSourceLease)) is { } leased)
            {
                return (leased, "lease");
            }
        }
        catch (LibvirtOperationFailedException ex)
        {
            // A driver or network without lease support: ARP may still know the guest. Reported if ARP fails too.
            leaseFailure = ex;
        }

        try
        {
            if (DomainAddressChoice.Choose(DomainInterfaceAddressReader.Read(domain, Interop.Libvirt.InterfaceAddressesSourceArp)) is { } seen)
            {
                return (seen, "arp");
            }
        }
        catch (LibvirtException arpFailure) when (leaseFailure is not null)
        {
            throw new LibvirtException(arpFailure.Code, arpFailure.Operation, arpFailure.Subject,
                $"{arpFailure.LibvirtMessage}; the lease source failed before: {leaseFailure.LibvirtMessage}");
        }
        return null;
    }
}
