using System.Buffers.Binary;
using System.Net;
using OverlayKvm.Core.SharedMemory;

namespace OverlayKvm.GuestAgent.Engine;

/// <summary>
/// This VM's attachment to one group's engine region: the mapped region, the endpoint of the slot the register
/// answer assigned, the group's query cache, and (for the receive worker) the addresses the daemon published for
/// every slot. Built and retired by <see cref="EngineDatapath"/>; its ring ends are used by exactly one sending
/// thread (the group's TUN worker) and one receiving thread (the engine receive worker).
/// </summary>
internal sealed class EngineAttachment : IDisposable
{
    private readonly EngineRegion _region;
    private uint[][] _slotAddresses;
    private ulong _slotAddressesVersion = ulong.MaxValue;

    public EngineAttachment(string group, uint groupId, EngineRegion region, int mySlot)
    {
        Group = group;
        GroupId = groupId;
        _region = region;
        Endpoint = new EngineEndpoint(region, mySlot);
        _slotAddresses = new uint[region.Layout.SlotCount][];
        for (int i = 0; i < _slotAddresses.Length; i++)
        {
            _slotAddresses[i] = [];
        }
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
    /// Receive worker only: is <paramref name="source"/> (big-endian IPv4) an address the daemon published for
    /// <paramref name="slot"/>? The slot table is re-read (validated copies) only when the directory version moved,
    /// so a packet costs an array scan of at most <see cref="SlotEntry.MaxAddresses"/> entries.
    /// </summary>
    public bool SlotOwns(int slot, uint source)
    {
        ulong version = _region.Control.DirectoryVersion;
        if (version != _slotAddressesVersion)
        {
            RefreshSlotAddresses(version);
        }

        if ((uint)slot >= (uint)_slotAddresses.Length)
        {
            return false;
        }

        uint[] owned = _slotAddresses[slot];
        for (int i = 0; i < owned.Length; i++)
        {
            if (owned[i] == source)
            {
                return true;
            }
        }

        return false;
    }

    private void RefreshSlotAddresses(ulong version)
    {
        var next = new uint[_region.Layout.SlotCount][];
        Span<byte> bytes = stackalloc byte[16];
        for (int slot = 0; slot < next.Length; slot++)
        {
            next[slot] = [];
            if (_region.Slots.TryRead(slot, out SlotEntry? entry) == SlotReadStatus.Valid && entry is not null)
            {
                var list = new List<uint>(entry.Addresses.Count);
                foreach (IPAddress address in entry.Addresses)
                {
                    if (address.TryWriteBytes(bytes, out int written) && written == 4)
                    {
                        list.Add(BinaryPrimitives.ReadUInt32BigEndian(bytes));
                    }
                }

                next[slot] = list.ToArray();
            }
        }

        _slotAddresses = next;
        _slotAddressesVersion = version;
    }

    public void Dispose()
    {
        Endpoint.Dispose();
        _region.Dispose();
    }
}
