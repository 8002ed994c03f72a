using System.Net;

namespace OverlayKvm.Core.Model;

/// <summary>
/// Applications that trust each other. The group owns an address space that no other group overlaps (R0.3),
/// so the group is known from an address alone.
/// </summary>
/// <param name="Version">Store version at which this record last changed.</param>
public sealed record ApplicationGroup(
    string Name,
    IPNetwork AddressSpace,
    ProtectionLevel Protection,
    long Version);
