using System.Net;

namespace OverlayKvm.HostDaemon.Libvirt;

/// <summary>One address libvirt reports on one interface of a domain (virDomainInterfaceAddresses).</summary>
/// <param name="Interface">The host-side interface name (vnet0) or, for the test driver, the configured target.</param>
/// <param name="HardwareAddress">The interface's MAC, or null when libvirt gave none.</param>
internal readonly record struct DomainInterfaceAddress(string Interface, string? HardwareAddress, IPAddress Address, int Prefix);
