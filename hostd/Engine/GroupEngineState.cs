using System.Net;
using OverlayKvm.Core.SharedMemory;

namespace OverlayKvm.HostDaemon.Engine;

/// <summary>The daemon's authoritative view of one group's engine on this host (guarded by the registry's lock).</summary>
internal sealed class GroupEngineState(string group, EngineRegion region)
{
    public string Group { get; } = group;

    public EngineRegion Region { get; set; } = region;

    public bool Enabled { get; set; } = true;

    public ulong DirectoryVersion { get; set; }

    public SlotState?[] Slots { get; } = new SlotState?[region.Layout.SlotCount];

    public int SlotOf(string domain)
    {
        for (int i = 0; i < Slots.Length; i++)
        {
            if (Slots[i]?.Domain == domain)
            {
                return i;
            }
        }

        return -1;
    }

    public int SlotHolding(IPAddress address)
    {
        for (int i = 0; i < Slots.Length; i++)
        {
            if (Slots[i]?.Addresses.Contains(address) == true)
            {
                return i;
            }
        }

        return -1;
    }
}

/// <summary>One occupied slot: the VM, its registered addresses (ordered by registration), its last heartbeat.</summary>
internal sealed class SlotState(string domain, DateTimeOffset heartbeat)
{
    public string Domain { get; } = domain;

    public List<IPAddress> Addresses { get; } = [];

    public DateTimeOffset LastHeartbeat { get; set; } = heartbeat;

    /// <summary>The VM's agent takes GSO super-packets off the ring (its latest registration said so).</summary>
    public bool SuperPackets { get; set; }

    public SlotEntry ToEntry() => new(PublishedName(Domain), Addresses.ToArray(), LastHeartbeat.ToUnixTimeMilliseconds());

    /// <summary>The slot table holds at most 64 UTF-8 bytes of the name (libvirt allows longer): the mirror truncates.</summary>
    public static string PublishedName(string domain)
    {
        string name = domain;
        while (System.Text.Encoding.UTF8.GetByteCount(name) > SlotEntry.MaxDomainBytes)
        {
            name = name[..^1];
        }

        return name;
    }
}
