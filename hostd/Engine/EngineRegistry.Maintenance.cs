using Microsoft.Extensions.Logging;
using OverlayKvm.Core.SharedMemory;

namespace OverlayKvm.HostDaemon.Engine;

public sealed partial class EngineRegistry
{
    /// <summary>Frees slots whose VM stopped sending heartbeats; returns how many were freed.</summary>
    public int ExpireStale()
    {
        var changed = new List<(string Group, ulong Version)>();
        int freed = 0;
        lock (_lock)
        {
            foreach (GroupEngineState state in _groups.Values)
            {
                bool any = false;
                for (int slot = 0; slot < state.Slots.Length; slot++)
                {
                    if (state.Slots[slot] is { } held && IsExpired(held))
                    {
                        Log.Expired(_logger, held.Domain, state.Group, slot);
                        state.Slots[slot] = null;
                        PublishSlotLocked(state, slot);
                        _counters.Expired();
                        freed++;
                        any = true;
                    }
                }

                if (any)
                {
                    changed.Add((state.Group, BumpLocked(state)));
                }
            }
        }

        foreach ((string group, ulong version) in changed)
        {
            DirectoryChanged?.Invoke(group, version);
        }

        return freed;
    }

    /// <summary>
    /// Forgets the regions of groups the store no longer has (undefined): unmapped and their /dev/shm files deleted,
    /// so an undefined group leaves nothing behind on the host. Regions of defined groups stay even when no VM uses
    /// them now (fail-static, and a VM may start any moment). Returns the groups removed.
    /// </summary>
    public IReadOnlyList<string> RemoveUndefinedGroups()
    {
        var defined = new HashSet<string>(StringComparer.Ordinal);
        foreach (var group in _store.ListGroups())
        {
            defined.Add(group.Name);
        }

        var removed = new List<string>();
        lock (_lock)
        {
            foreach (string group in _groups.Keys.ToList())
            {
                if (!defined.Contains(group))
                {
                    _groups.Remove(group);
                    _regions.Remove(group);
                    removed.Add(group);
                    Log.RegionRemoved(_logger, group);
                }
            }
        }

        return removed;
    }

    /// <summary>
    /// Re-creates a group's region with a higher generation (rings emptied, agents re-attach) and republishes the
    /// registry's slots into it. For a region whose rings are beyond repair, or after a layout change.
    /// </summary>
    public void RecreateRegion(string group)
    {
        ulong version;
        lock (_lock)
        {
            GroupEngineState state = StateLocked(group);
            state.Region = _regions.Recreate(group);
            for (int slot = 0; slot < state.Slots.Length; slot++)
            {
                PublishSlotLocked(state, slot);
            }

            state.Region.Control.SetEngineEnabled(state.Enabled);
            version = BumpLocked(state);
        }

        DirectoryChanged?.Invoke(group, version);
    }

    /// <summary>
    /// Verifies every region against the registry and repairs what a guest (or a fault) changed: the header
    /// (checksum, layout, generation), the control words and each slot entry. Returns the number of repairs.
    /// </summary>
    public int Scrub()
    {
        int repairs = 0;
        lock (_lock)
        {
            foreach (GroupEngineState state in _groups.Values)
            {
                EngineRegion region = state.Region;
                RegionHeaderStatus header = region.CheckHeader();
                if (header != RegionHeaderStatus.Valid)
                {
                    Log.HeaderRepaired(_logger, state.Group, header);
                    region.RewriteHeader();
                    _counters.HeaderRepaired();
                    repairs++;
                }

                if (region.Control.IsEngineEnabled != state.Enabled || region.Control.DirectoryVersion != state.DirectoryVersion)
                {
                    region.Control.SetEngineEnabled(state.Enabled);
                    region.Control.SetDirectoryVersion(state.DirectoryVersion);
                    _counters.ControlRepaired();
                    repairs++;
                }

                for (int slot = 0; slot < state.Slots.Length; slot++)
                {
                    if (!SlotMatchesLocked(state, slot))
                    {
                        PublishSlotLocked(state, slot);
                        _counters.SlotRepaired();
                        repairs++;
                    }
                }
            }
        }

        return repairs;
    }

    private static bool SlotMatchesLocked(GroupEngineState state, int slot)
    {
        SlotReadStatus status = state.Region.Slots.TryRead(slot, out SlotEntry? published);
        SlotState? expected = state.Slots[slot];
        if (expected is null)
        {
            return status == SlotReadStatus.Free;
        }

        if (status != SlotReadStatus.Valid)
        {
            return false;
        }

        SlotEntry mine = expected.ToEntry();
        return published!.Domain == mine.Domain && published.HeartbeatUnixMs == mine.HeartbeatUnixMs &&
               published.Addresses.SequenceEqual(mine.Addresses);
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Warning, Message = "engine: domain {Domain} missed its heartbeats; slot {Slot} of group {Group} freed")]
        public static partial void Expired(ILogger logger, string domain, string group, int slot);

        [LoggerMessage(Level = LogLevel.Warning, Message = "engine region of group {Group}: header {Status}, rewritten")]
        public static partial void HeaderRepaired(ILogger logger, string group, RegionHeaderStatus status);
    }
}
