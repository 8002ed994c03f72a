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
    long Version)
{
    /// <summary>
    /// Store-assigned, never reused while the store lives: the basis of the group's routing-table id in every
    /// VM (<see cref="Config.RouteTables.ForGroup"/>), so the id survives restarts and unrelated changes. 0 = unassigned.
    /// </summary>
    public int Number { get; init; }

    /// <summary>The AEAD that seals the group's frames (issue 16): fixed when the group is defined.</summary>
    public GroupCipher Cipher { get; init; }
}
