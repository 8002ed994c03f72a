namespace OverlayKvm.Core.SharedMemory;

/// <summary>Outcome of <see cref="EngineEndpoint.TrySend"/>; anything but Sent means "use the sealed network path".</summary>
public enum EngineSendResult
{
    Sent = 0,
    /// <summary>The destination's ring is full: the engine is congested (fall back, or drop as a congested link would).</summary>
    Full,
    /// <summary>The operator switched the engine off for the group.</summary>
    Disabled,
    /// <summary>Packet empty or larger than the region's max record payload.</summary>
    InvalidLength,
    /// <summary>The ring's indices are inconsistent (counted; it heals when the consumer resynchronises).</summary>
    Corrupt,
    /// <summary>Not a slot of this region, or this endpoint's own slot.</summary>
    NoSuchSlot,
}

/// <summary>
/// One VM's end of a group's engine region (the agent's datapath half, FIG. 9/10): it writes to the rings
/// <c>mySlot → peer</c> and reads the rings <c>peer → mySlot</c>. The slot comes from the register answer; the
/// peer's slot from a query answer. Rings are opened on first use and kept; nothing allocates per packet.
/// One sending thread and one receiving thread at most (each ring is single-producer/single-consumer).
/// Notification: after each record it sends, the endpoint rings the peer's <see cref="EngineDoorbell"/> (a FUTEX_WAKE
/// only if the peer's receiver sleeps); an idle receiver sleeps with <see cref="WaitForData"/>.
/// The caller re-validates the region with <see cref="EngineRegion.CheckHeader"/> on its poll cadence and
/// rebuilds the endpoint when the generation changes or the daemon re-assigns slots (directory version).
/// </summary>
public sealed class EngineEndpoint : IDisposable
{
    private readonly EngineRegion _region;
    private readonly RingProducer?[] _out;
    private readonly RingConsumer?[] _in;
    private readonly EngineDoorbell?[] _peerDoorbells;
    private readonly EngineDoorbell?[] _peerRoomDoorbells;
    private readonly bool[] _consumedFrom;
    private int _nextPeer;

    public EngineEndpoint(EngineRegion region, int mySlot)
    {
        if ((uint)mySlot >= (uint)region.Layout.SlotCount)
        {
            throw new ArgumentOutOfRangeException(nameof(mySlot), $"engine region of group '{region.Group}': slot {mySlot} outside 0..{region.Layout.SlotCount - 1}");
        }

        _region = region;
        MySlot = mySlot;
        _out = new RingProducer?[region.Layout.SlotCount];
        _in = new RingConsumer?[region.Layout.SlotCount];
        _peerDoorbells = new EngineDoorbell?[region.Layout.SlotCount];
        _peerRoomDoorbells = new EngineDoorbell?[region.Layout.SlotCount];
        _consumedFrom = new bool[region.Layout.SlotCount];
        Doorbell = region.OpenDoorbell(mySlot);
        RoomDoorbell = region.OpenRoomDoorbell(mySlot);
        for (int peer = 0; peer < _in.Length; peer++)
        {
            if (peer != mySlot)
            {
                _in[peer] = region.OpenConsumer(peer, mySlot);
            }
        }
    }

    public int MySlot { get; }

    /// <summary>This slot's doorbell (receive thread only): peers ring it after writing to our rings.</summary>
    public EngineDoorbell Doorbell { get; }

    /// <summary>This slot's room doorbell (sending thread only): it sleeps on it while a ring it writes is full.</summary>
    public EngineDoorbell RoomDoorbell { get; }

    /// <summary>FUTEX_WAKE calls this endpoint issued towards sleeping peers.</summary>
    public long WakesSent
    {
        get
        {
            long sum = 0;
            foreach (EngineDoorbell? d in _peerDoorbells)
            {
                sum += d?.WakesSent ?? 0;
            }

            foreach (EngineDoorbell? d in _peerRoomDoorbells)
            {
                sum += d?.WakesSent ?? 0;
            }

            return sum;
        }
    }

    public int MaxPacket => _region.Layout.MaxRecordPayload;

    /// <summary>Writes one packet, in clear, to the ring towards <paramref name="peerSlot"/>.</summary>
    public EngineSendResult TrySend(int peerSlot, ReadOnlySpan<byte> packet)
    {
        if ((uint)peerSlot >= (uint)_out.Length || peerSlot == MySlot)
        {
            return EngineSendResult.NoSuchSlot;
        }

        if (!_region.Control.IsEngineEnabled)
        {
            return EngineSendResult.Disabled;
        }

        RingProducer producer = _out[peerSlot] ??= _region.OpenProducer(MySlot, peerSlot);
        RingWriteResult written = producer.TryWrite(packet);
        if (written == RingWriteResult.Written)
        {
            (_peerDoorbells[peerSlot] ??= _region.OpenDoorbell(peerSlot)).Ring();
            return EngineSendResult.Sent;
        }

        return written switch
        {
            RingWriteResult.Full => EngineSendResult.Full,
            RingWriteResult.InvalidLength => EngineSendResult.InvalidLength,
            _ => EngineSendResult.Corrupt,
        };
    }

    /// <summary>
    /// Sending thread, after <paramref name="peerSlot"/>'s ring was Full: announce on the room doorbell, try once
    /// more, and sleep until the receiver consumed (it rings after each burst) or <paramref name="limit"/> passes.
    /// Returns the result of the last attempt (Full if there is still no room). Sleeping instead of spinning leaves
    /// the CPU to the receiver, which is what makes room.
    /// </summary>
    public EngineSendResult WaitForRoom(int peerSlot, ReadOnlySpan<byte> packet, TimeSpan limit)
    {
        RoomDoorbell.Announce();
        EngineSendResult result;
        try
        {
            result = TrySend(peerSlot, packet);
            if (result != EngineSendResult.Full)
            {
                RoomDoorbell.NoteDataFound();
                return result;
            }

            RoomDoorbell.Wait(limit);
        }
        finally
        {
            RoomDoorbell.Withdraw();
        }

        result = TrySend(peerSlot, packet);
        if (result != EngineSendResult.Full)
        {
            // Progress: an early return of the wait was the receiver's signal racing our announce, not a scribbler.
            RoomDoorbell.NoteDataFound();
        }

        return result;
    }

    /// <summary>
    /// Receive thread, after a burst of reads: rings the room doorbell of every peer it consumed from since the last
    /// call (one fence and one read each; a wake only if that peer's sender sleeps on a full ring).
    /// </summary>
    public void SignalRoom()
    {
        for (int peer = 0; peer < _consumedFrom.Length; peer++)
        {
            if (_consumedFrom[peer])
            {
                _consumedFrom[peer] = false;
                (_peerRoomDoorbells[peer] ??= _region.OpenRoomDoorbell(peer)).Ring();
            }
        }
    }

    /// <summary>Whether any peer's ring towards this slot holds unread bytes (receive thread only).</summary>
    public bool HasPending
    {
        get
        {
            for (int i = 0; i < _in.Length; i++)
            {
                if (_in[i]?.HasPending == true)
                {
                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>
    /// A peer rang this receiver's doorbell (the word went from "sleeping" to "awake") and no wake arrived before the
    /// wait timed out: a sender in another kernel (a VM's agent; futex does not cross kernels), or, rarely, a
    /// same-kernel wake that lost the race with the timeout. Sticky: from then on the receive thread does not sleep
    /// longer than its short bounds on this endpoint, since only those notice such a sender's packets.
    /// </summary>
    public bool UnwakeableRingSeen { get; private set; }

    /// <summary>
    /// Receive thread, idle: announce on the doorbell, re-check the rings, and sleep until a peer rings or
    /// <paramref name="limit"/> passes. Returns at once (Woken) when the re-check finds data.
    /// </summary>
    public DoorbellWaitResult WaitForData(TimeSpan limit)
    {
        Doorbell.Announce();
        try
        {
            if (HasPending)
            {
                Doorbell.NoteDataFound();
                return DoorbellWaitResult.Woken;
            }

            DoorbellWaitResult result = Doorbell.Wait(limit);
            if (result == DoorbellWaitResult.TimedOut && Doorbell.Peek() != EngineDoorbell.Sleeping)
            {
                UnwakeableRingSeen = true;
            }

            if (result == DoorbellWaitResult.ValueChanged && HasPending)
            {
                // A sender's wake raced our announce (it cleared the word before FUTEX_WAIT): not a scribbler.
                Doorbell.NoteDataFound();
            }

            return result;
        }
        finally
        {
            Doorbell.Withdraw();
        }
    }

    /// <summary>
    /// Takes the next packet from any peer, round-robin so one busy peer cannot starve the others.
    /// <paramref name="fromSlot"/> is the ring's sending slot: the origin the receiver checks its policy against.
    /// </summary>
    public RingReadResult TryReceive(Span<byte> destination, out int length, out int fromSlot)
    {
        int peers = _in.Length;
        for (int i = 0; i < peers; i++)
        {
            int peer = (_nextPeer + i) % peers;
            RingConsumer? consumer = _in[peer];
            if (consumer is null)
            {
                continue;
            }

            RingReadResult result = consumer.TryRead(destination, out length);
            if (result != RingReadResult.Empty)
            {
                _consumedFrom[peer] = true;
                _nextPeer = (peer + 1) % peers;
                fromSlot = peer;
                return result;
            }
        }

        length = 0;
        fromSlot = -1;
        return RingReadResult.Empty;
    }

    /// <summary>Faults seen on this endpoint's rings (sum over both directions).</summary>
    public long FaultCount
    {
        get
        {
            long sum = 0;
            for (int i = 0; i < _out.Length; i++)
            {
                sum += (_out[i]?.Faults.Total ?? 0) + (_in[i]?.Faults.Total ?? 0);
            }

            return sum;
        }
    }

    public void Dispose()
    {
        for (int i = 0; i < _out.Length; i++)
        {
            _out[i]?.Dispose();
            _in[i]?.Dispose();
            _peerDoorbells[i]?.Dispose();
            _peerRoomDoorbells[i]?.Dispose();
        }

        Doorbell.Dispose();
        RoomDoorbell.Dispose();
    }
}
