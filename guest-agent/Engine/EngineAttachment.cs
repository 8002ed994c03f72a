using OverlayKvm.Core.SharedMemory;

namespace OverlayKvm.GuestAgent.Engine;

/// <summary>
/// This VM's attachment to one group's engine region: the mapped region, the endpoint of the slot the register
/// answer assigned, and the group's query cache: the host's answers, which both the send stage (where to write)
/// and the receive worker (which slot may write as which address) trust — never the region's own slot table. Built and retired by <see cref="EngineDatapath"/>; its ring ends are used by exactly one sending
/// thread (the group's TUN worker) and one receiving thread (the engine receive worker).
/// </summary>
internal sealed class EngineAttachment : IDisposable
{
    private readonly EngineRegion _region;

    public EngineAttachment(string group, uint groupId, EngineRegion region, int mySlot)
    {
        Group = group;
        GroupId = groupId;
        _region = region;
        Endpoint = new EngineEndpoint(region, mySlot);
    }

    public string Group { get; }

    public uint GroupId { get; }

    public string RegionPath => _region.Mapping.Path;

    public EngineEndpoint Endpoint { get; }

    public EngineRouteCache Routes { get; } = new();

    public ulong Generation => _region.Generation;

    public int MySlot => Endpoint.MySlot;

    /// <summary>Send worker only: Stopwatch timestamp before which a full ring is not waited on (see EngineDatapath).</summary>
    public long NoWaitUntil { get; set; }

    public bool IsEnabled => _region.Control.IsEngineEnabled;

    public ulong DirectoryVersion => _region.Control.DirectoryVersion;

    /// <summary>Re-validates the shared header (magic, version, checksum, generation, identity).</summary>
    public RegionHeaderStatus CheckHeader() => _region.CheckHeader();

    /// <summary>
    /// Receive worker only: did the host say that <paramref name="source"/> (big-endian IPv4) is at
    /// <paramref name="slot"/>? Only the host's query answers count (issue 14 item 6): the slot table in the region
    /// is guest-writable, so a member could rewrite its own entry to claim a victim's address. No answer for the
    /// source yet → <see cref="SlotClaim.Unverified"/> (the caller asks the host). One dictionary lookup, no allocation.
    /// </summary>
    public SlotClaim CheckSlot(int slot, uint source)
    {
        if (!Routes.TryGetCurrent(source, DirectoryVersion, Generation, out EngineRoute? route))
        {
            return SlotClaim.Unverified;
        }

        return route!.Accessible && route.PeerSlot == slot && route.AskerSlot == MySlot ? SlotClaim.Owned : SlotClaim.NotOwned;
    }

    public void Dispose()
    {
        Endpoint.Dispose();
        _region.Dispose();
    }
}
