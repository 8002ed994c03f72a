using OverlayKvm.Core.Api;
using OverlayKvm.Core.SharedMemory;

namespace OverlayKvm.HostDaemon.Engine;

public sealed partial class EngineRegistry
{
    /// <summary>Registered addresses per group and slot, ring figures between occupied slots, and the counters.</summary>
    public EngineStat Snapshot()
    {
        var groups = new List<EngineGroupStat>();
        lock (_lock)
        {
            foreach (GroupEngineState state in _groups.Values.OrderBy(g => g.Group, StringComparer.Ordinal))
            {
                var slots = new List<EngineSlotStat>();
                var rings = new List<EngineRingStat>();
                for (int slot = 0; slot < state.Slots.Length; slot++)
                {
                    if (state.Slots[slot] is not { } held)
                    {
                        continue;
                    }

                    slots.Add(new EngineSlotStat(slot, held.Domain, held.Addresses.Select(a => a.ToString()).ToArray(),
                        held.LastHeartbeat, IsExpired(held)));
                    for (int other = 0; other < state.Slots.Length; other++)
                    {
                        if (other != slot && state.Slots[other] is not null)
                        {
                            RingStatistics r = state.Region.ReadRingStatistics(slot, other);
                            rings.Add(new EngineRingStat(slot, other, r.RecordsWritten, r.BytesWritten, r.RecordsRead, r.BytesRead, r.Pending));
                        }
                    }
                }

                groups.Add(new EngineGroupStat(state.Group, state.Enabled, _regions.RegionPath(state.Group), state.Region.Generation,
                    state.Region.Layout.RingCapacity, state.DirectoryVersion, state.Region.CheckHeader().ToString(), slots, rings));
            }
        }

        return new EngineStat(_time.GetUtcNow(), _counters.Snapshot(), groups);
    }
}
