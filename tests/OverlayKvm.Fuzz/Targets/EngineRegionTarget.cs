using System.Net;
using OverlayKvm.Core.SharedMemory;
using OverlayKvm.Fuzz.Fixtures;
using OverlayKvm.HostDaemon.Engine;

namespace OverlayKvm.Fuzz.Targets;

/// <summary>
/// A guest rewrites the header page or the slot table of its group's region (all of it is guest-writable ivshmem).
/// Domain fz-vm1 holds a slot in group web's region, created by overlayd's real <c>EngineRegistry</c>. Per input:
/// <code>
/// byte0 % 2 == 0: the rest overwrites the header page from offset 0 (magic, layout, generation, checksum, identity)
///              1: the rest overwrites the slot table from its start (sequence words, entries, checksums)
/// </code>
/// then an agent attaches to the region as it would (<c>EngineRegion.TryAttach</c>, header re-check, every slot
/// entry, the control words) and overlayd's scrubber repairs it (<c>EngineRegistry.Scrub</c>). Finding, besides any
/// exception: a second scrub that still has something to repair (one pass must restore the daemon's view, and this
/// also puts the region back for the next input). Nothing is a rejection.
/// </summary>
internal sealed class EngineRegionTarget : FuzzTarget
{
    private readonly HostSide _host = new();
    private readonly string _path;
    private readonly EngineRegionLayout _layout;

    public EngineRegionTarget()
    {
        RegisterResult registered = _host.Engine.Register(HostSide.Domain, IPAddress.Parse("10.1.0.1"));
        if (!registered.Succeeded)
        {
            throw new InvalidOperationException($"engine-region fixture: registering {HostSide.Domain} failed: {registered.Status} {registered.Error}");
        }
        _path = _host.Regions.RegionPath("web");
        using SharedMemoryMapping probe = SharedMemoryMapping.Open(_path);
        if (EngineRegion.TryAttach(probe, out EngineRegion? region) != RegionHeaderStatus.Valid)
        {
            throw new InvalidOperationException($"engine-region fixture: {_path} is not a valid region after registration");
        }
        _layout = region!.Layout;
        region.Dispose();
    }

    public override string Name => "engine-region";

    protected override void Execute(ReadOnlySpan<byte> input)
    {
        if (input.IsEmpty)
        {
            return;
        }
        SharedMemoryMapping mapping = SharedMemoryMapping.Open(_path);
        try
        {
            bool header = (input[0] & 1) == 0;
            int offset = header ? 0 : _layout.SlotTableOffset;
            int area = header ? EngineRegionLayout.HeaderPageSize : _layout.SlotCount * EngineRegionLayout.SlotSize;
            ReadOnlySpan<byte> rest = input.Slice(1);
            rest.Slice(0, Math.Min(rest.Length, area)).CopyTo(mapping.GetSpan(offset, area));

            if (EngineRegion.TryAttach(mapping, out EngineRegion? region) == RegionHeaderStatus.Valid)
            {
                using (region)
                {
                    mapping = null!;
                    ReadAsAgent(region!);
                }
            }
        }
        finally
        {
            mapping?.Dispose();
        }

        _host.Engine.Scrub();
        int left = _host.Engine.Scrub();
        if (left != 0)
        {
            throw new InvalidOperationException($"engine-region: a second scrub still repaired {left} things: one pass did not restore the region");
        }
    }

    private static void ReadAsAgent(EngineRegion region)
    {
        region.CheckHeader();
        _ = region.Control.IsEngineEnabled;
        _ = region.Control.DirectoryVersion;
        for (int slot = 0; slot < region.Slots.Count; slot++)
        {
            if (region.Slots.TryRead(slot, out SlotEntry? entry) == SlotReadStatus.Valid && entry is null)
            {
                throw new InvalidOperationException($"engine-region: slot {slot} read as valid without an entry");
            }
        }
    }

    public override void Dispose() => _host.Dispose();
}
