namespace OverlayKvm.Core.Model;

/// <summary>Where a domain's address came from (issue 11), so a learned address can follow a lease without ever replacing an operator's.</summary>
public enum DomainAddressSource
{
    /// <summary>Given by the operator (<c>domain-define --address</c>), or no address at all.</summary>
    Operator = 0,

    /// <summary>Learned from libvirt (the network's DHCP lease or the host's ARP table); refreshed while the domain runs.</summary>
    Libvirt = 1,
}
