using System.Threading.Channels;
using OverlayKvm.Core.SharedMemory;
using OverlayKvm.GuestAgent.Config;

namespace OverlayKvm.GuestAgent.Engine;

/// <summary>
/// The engine's share of the agent datapath (FIG. 9): per group, the attachment to the group's region. The send
/// stage calls <see cref="TrySend"/> for every packet to another VM: a current "accessible" answer in the cache →
/// the packet is written in clear to the ring and never touches the network; anything else (not attached, no
/// answer yet, not accessible, switched off, ring full or faulty) → false, counted by reason, and the caller seals
/// it for the network. A miss queues one query for <see cref="EngineControlService"/>. Nothing here allocates on
/// the steady path, throws, or logs.
/// Attachments are replaced copy-on-write; a retired one is disposed only after <see cref="RetireGrace"/>, long
/// after any worker that read the old table has finished its packet (so no worker touches unmapped memory).
/// </summary>
internal sealed class EngineDatapath : IDisposable
{
    public static readonly TimeSpan RetireGrace = TimeSpan.FromSeconds(5);

    private readonly long[] _fallbacks = new long[EngineFallbacks.Count];
    private readonly Lock _writeLock = new();
    private readonly System.Threading.Channels.Channel<(uint GroupId, uint Destination)> _queries =
        System.Threading.Channels.Channel.CreateBounded<(uint, uint)>(new BoundedChannelOptions(1024) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private Dictionary<uint, EngineAttachment> _byGroup = new();
    private EngineAttachment[] _all = [];
    // Attachments waiting out RetireGrace, still mapped: a leave (the BAR is about to be unplugged) waits for them too.
    private readonly List<Task> _retiring = [];
    private long _ringPacketsDropped;

    /// <summary>Destinations waiting for a query (read by the control service).</summary>
    public ChannelReader<(uint GroupId, uint Destination)> PendingQueries => _queries.Reader;

    /// <summary>The current attachments (the receive worker iterates this array).</summary>
    public EngineAttachment[] Attachments => Volatile.Read(ref _all);

    public long Fallbacks(EngineFallback reason) => Volatile.Read(ref _fallbacks[(int)reason]);

    public long RingPacketsDropped => Volatile.Read(ref _ringPacketsDropped);

    public bool TryGet(uint groupId, out EngineAttachment? attachment) => Volatile.Read(ref _byGroup).TryGetValue(groupId, out attachment);

    /// <summary>
    /// Send stage, before putting a super-packet of <paramref name="recordLength"/> bytes (header included) on the
    /// ring: the ring takes a record that long, and the destination's agent reads super-packets (a current query answer
    /// says so). No answer, a record too long for the region, or an agent from before super-packets: the caller segments.
    /// </summary>
    public bool TakesWhole(GroupRuntime group, uint destination, int recordLength) =>
        Volatile.Read(ref _byGroup).TryGetValue(group.Id, out EngineAttachment? a)
        && recordLength <= a.Endpoint.MaxPacket
        && a.Routes.TryGetCurrent(destination, a.DirectoryVersion, a.Generation, out EngineRoute? route)
        && route!.SuperPackets;

    /// <summary>Send stage: true when the packet went to the ring (the caller counts it on the engine path).</summary>
    public bool TrySend(GroupRuntime group, uint destination, ReadOnlySpan<byte> packet)
    {
        if (!Volatile.Read(ref _byGroup).TryGetValue(group.Id, out EngineAttachment? attachment))
        {
            return Fallback(EngineFallback.NotAttached);
        }

        if (!attachment.IsEnabled)
        {
            return Fallback(EngineFallback.Disabled);
        }

        if (!attachment.Routes.TryGetCurrent(destination, attachment.DirectoryVersion, attachment.Generation, out EngineRoute? route))
        {
            RequestRoute(attachment, destination);
            return Fallback(EngineFallback.Unresolved);
        }

        if (!route!.Accessible || route.AskerSlot != attachment.MySlot)
        {
            return Fallback(EngineFallback.NotAccessible);
        }

        EngineSendResult result = attachment.Endpoint.TrySend(route.PeerSlot, packet);
        if (result == EngineSendResult.Full)
        {
            result = WaitForRoom(attachment, route.PeerSlot, packet);
        }

        return result switch
        {
            EngineSendResult.Sent => true,
            EngineSendResult.Full => Fallback(EngineFallback.Full),
            EngineSendResult.Disabled => Fallback(EngineFallback.Disabled),
            _ => Fallback(EngineFallback.Fault),
        };
    }

    /// <summary>
    /// A full ring means the receiving agent is momentarily behind: back-pressure the sending app for up to
    /// <see cref="FullWait"/> rather than spill a burst onto the network, which would put co-located traffic on the
    /// underlay and reorder the stream. The sender sleeps on its room doorbell (the receiver rings it after each
    /// burst it consumed; between VMs each sleep is bounded by <see cref="RoomWaitSlice"/>) instead of spinning, so
    /// the CPU goes to the receiver that makes the room. A ring that stays full (the receiver is gone or stuck) is
    /// not waited on again for <see cref="FullBackoff"/>: its packets take the sealed path at once.
    /// </summary>
    private static EngineSendResult WaitForRoom(EngineAttachment attachment, int peerSlot, ReadOnlySpan<byte> packet)
    {
        long now = System.Diagnostics.Stopwatch.GetTimestamp();
        if (now < attachment.NoWaitUntil)
        {
            return EngineSendResult.Full;
        }

        long deadline = now + (long)(FullWait.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
        while (System.Diagnostics.Stopwatch.GetTimestamp() < deadline)
        {
            EngineSendResult result = attachment.Endpoint.WaitForRoom(peerSlot, packet, RoomWaitSlice);
            if (result != EngineSendResult.Full)
            {
                return result;
            }
        }

        attachment.NoWaitUntil = System.Diagnostics.Stopwatch.GetTimestamp() + (long)(FullBackoff.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
        return EngineSendResult.Full;
    }

    /// <summary>One room-doorbell sleep: the bound when the receiver is in another VM (its wake cannot reach us).</summary>
    public static readonly TimeSpan RoomWaitSlice = TimeSpan.FromMilliseconds(1);

    /// <summary>Longest a sender waits for room in a full ring (sleeping on its room doorbell).</summary>
    /// Long enough to ride out the receiver being descheduled for a few time slices on a busy host.
    public static readonly TimeSpan FullWait = TimeSpan.FromMilliseconds(20);

    /// <summary>After a wait timed out, how long full rings of that group fall back without waiting.</summary>
    public static readonly TimeSpan FullBackoff = TimeSpan.FromMilliseconds(100);

    /// <summary>Queues one query to the host for <paramref name="address"/> (none if one is outstanding or the queue is full).</summary>
    public void RequestRoute(EngineAttachment attachment, uint address)
    {
        if (attachment.Routes.TryBeginQuery(address) && !_queries.Writer.TryWrite((attachment.GroupId, address)))
        {
            attachment.Routes.Complete(address, null);
        }
    }

    /// <summary>Counts a packet that came off a ring but was refused (malformed, spoofed, no route).</summary>
    public void CountRingDrop() => Interlocked.Increment(ref _ringPacketsDropped);

    /// <summary>Installs (or replaces) the attachment of a group; the replaced one is retired.</summary>
    public void Attach(EngineAttachment attachment)
    {
        EngineAttachment? old;
        lock (_writeLock)
        {
            var next = new Dictionary<uint, EngineAttachment>(_byGroup);
            next.TryGetValue(attachment.GroupId, out old);
            next[attachment.GroupId] = attachment;
            PublishLocked(next);
        }

        Retire(old);
    }

    /// <summary>Removes a group's attachment (region invalid, app gone, host said so); traffic takes the sealed path.</summary>
    public EngineAttachment? Detach(uint groupId)
    {
        EngineAttachment? old;
        lock (_writeLock)
        {
            if (!_byGroup.TryGetValue(groupId, out old))
            {
                return null;
            }

            var next = new Dictionary<uint, EngineAttachment>(_byGroup);
            next.Remove(groupId);
            PublishLocked(next);
        }

        Retire(old);
        return old;
    }

    /// <summary>
    /// Removes every attachment (the host is about to unplug the regions): senders fall back to the sealed path at
    /// once. The task completes when nothing of any region is mapped any more — the removed ones and any retired
    /// earlier — which is after <see cref="RetireGrace"/>, so no worker still holds a reference it read before.
    /// Returns how many attachments this call removed.
    /// </summary>
    public async Task<int> DetachAllAsync()
    {
        EngineAttachment[] removed;
        Task[] pending;
        lock (_writeLock)
        {
            removed = _all;
            PublishLocked(new Dictionary<uint, EngineAttachment>());
            foreach (EngineAttachment old in removed)
            {
                _retiring.Add(RetireAsync(old));
            }

            pending = _retiring.ToArray();
        }

        await Task.WhenAll(pending).ConfigureAwait(false);
        return removed.Length;
    }

    public void Dispose()
    {
        lock (_writeLock)
        {
            foreach (EngineAttachment a in _byGroup.Values)
            {
                a.Dispose();
            }

            PublishLocked(new Dictionary<uint, EngineAttachment>());
        }
    }

    private void PublishLocked(Dictionary<uint, EngineAttachment> next)
    {
        var all = new EngineAttachment[next.Count];
        next.Values.CopyTo(all, 0);
        Volatile.Write(ref _byGroup, next);
        Volatile.Write(ref _all, all);
    }

    private void Retire(EngineAttachment? old)
    {
        if (old is not null)
        {
            lock (_writeLock)
            {
                _retiring.Add(RetireAsync(old));
            }
        }
    }

    // Called under _writeLock: drops the finished retirements so the list stays as short as the ones in flight.
    private Task RetireAsync(EngineAttachment old)
    {
        _retiring.RemoveAll(static t => t.IsCompleted);
        return Task.Delay(RetireGrace).ContinueWith(_ => old.Dispose(), TaskScheduler.Default);
    }

    private bool Fallback(EngineFallback reason)
    {
        Interlocked.Increment(ref _fallbacks[(int)reason]);
        return false;
    }
}
