using OverlayKvm.Core.Interop;
using OverlayKvm.Core.Wire;
using OverlayKvm.GuestAgent.Pipeline;
using OverlayKvm.GuestAgent.Transport;

namespace OverlayKvm.GuestAgent.Tun;

/// <summary>
/// The proxy overlay entity of one group in this VM (R0.6): a TUN device plus its long-lived read worker. The
/// worker drains the device in bursts: each packet is read into a batch slot after sealed-frame headroom,
/// handed to <see cref="SendPath"/> (which seals it in place and queues it), and the burst leaves in one
/// sendmmsg. Delivery into the VM goes through <see cref="TryWrite"/>.
/// With offloads (<see cref="TunDevice.HasVnetHeader"/>) each read lands with its virtio-net header in the last
/// bytes of the headroom: the header is checked (a bad one is a counted `malformed` drop), a partial checksum is
/// completed in place, and a super-packet goes to the send path whole with the header (see
/// <see cref="SendPath.Process(uint, Span{byte}, int, IFrameSender, in VirtioNetHeader, Span{byte})"/>).
/// </summary>
internal sealed class GroupAdapter : IPacketSink, IDisposable
{
    private readonly TunDevice _device;
    private readonly SendPath _send;
    private readonly DatapathCounters _counters;
    private readonly Thread _worker;
    private readonly Func<BatchFrameSender>? _batchFactory;
    private volatile bool _stopping;

    /// <summary>Packets read per burst (and datagrams per sendmmsg).</summary>
    public const int BurstSize = 32;

    /// <summary>Slot size: headroom, the largest IP packet, the tag.</summary>
    public const int SlotSize = SealedFrameHeader.Size + 65535 + SealedFrameHeader.MaxTagSize;

    public GroupAdapter(string group, uint groupId, TunDevice device, SendPath send, DatapathCounters counters, Func<BatchFrameSender>? batchFactory = null)
    {
        _batchFactory = batchFactory;
        Group = group;
        GroupId = groupId;
        _device = device;
        _send = send;
        _counters = counters;
        _worker = new Thread(Run) { IsBackground = true, Name = "overlay-tun-" + device.Name };
    }

    public string Group { get; }

    public uint GroupId { get; }

    public string DeviceName => _device.Name;

    public void Start() => _worker.Start();

    public bool TryWrite(ReadOnlySpan<byte> packet)
    {
        try
        {
            return _device.Write(packet, out _) == packet.Length;
        }
        catch (ObjectDisposedException)
        {
            // The adapter is being removed (1→0) while a packet for it was in flight.
            return false;
        }
    }

    public bool AcceptsTcpSuperPackets => _device.HasVnetHeader;

    public bool AcceptsUdpSuperPackets => _device.HasUdpSegmentation;

    public bool TryWriteOffloaded(Span<byte> headerAndPacket, in VirtioNetHeader header)
    {
        if (!_device.HasVnetHeader)
        {
            return SegmentedWrite.TryWrite(this, header, headerAndPacket.Slice(VirtioNetHeader.Size));
        }
        header.Write(headerAndPacket);
        try
        {
            return _device.WriteWithHeader(headerAndPacket, out _) == headerAndPacket.Length;
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
    }

    private void Run()
    {
        using BatchFrameSender? batch = _batchFactory?.Invoke();
        byte[] single = batch is null ? GC.AllocateUninitializedArray<byte>(SlotSize, pinned: true) : [];
        bool offloads = _device.HasVnetHeader;
        byte[] scratch = offloads ? GC.AllocateUninitializedArray<byte>(2 * SendPath.SegmentScratchSize, pinned: true) : [];
        // With a header the read starts inside the headroom, so the packet still lands right after it.
        int readOffset = offloads ? SealedFrameHeader.Size - VirtioNetHeader.Size : SealedFrameHeader.Size;
        int readLength = offloads ? VirtioNetHeader.Size + 65535 : 65535;
        while (!_stopping)
        {
            try
            {
                int read = 0;
                while (read < BurstSize)
                {
                    Span<byte> slot = batch is null ? single : batch.NextSlot;
                    int n = _device.Read(slot.Slice(readOffset, readLength), out Errno errno);
                    if (n <= 0)
                    {
                        if (n < 0)
                        {
                            _counters.Drop(DropReason.IoError);
                        }
                        break;
                    }
                    read++;
                    VirtioNetHeader offload = default;
                    if (offloads && !TryTakeHeader(slot, ref n, out offload))
                    {
                        continue;
                    }
                    IFrameSender sender = batch is null ? _send.DefaultSender : batch;
                    _send.Process(GroupId, slot, n, sender, offload, scratch);
                    if (batch is not null && batch.IsFull)
                    {
                        batch.Flush();
                    }
                }
                batch?.Flush();
                if (read < BurstSize)
                {
                    // Drained (or failed): sleep in poll until the kernel queues the next packet.
                    FdIo.WaitReadable(_device.Handle, 200);
                }
            }
            catch (ObjectDisposedException)
            {
                return;
            }
        }
    }

    /// <summary>
    /// Splits a read of header + packet: checks the header (counted `malformed` drop if the kernel handed over
    /// something this datapath does not carry), completes a partial checksum of a plain packet in place, and returns
    /// the packet's length in <paramref name="length"/> and, for a super-packet, its normalized header.
    /// </summary>
    private bool TryTakeHeader(Span<byte> slot, ref int length, out VirtioNetHeader offload)
    {
        offload = default;
        length -= VirtioNetHeader.Size;
        Span<byte> packet = slot.Slice(SealedFrameHeader.Size, Math.Max(length, 0));
        if (!VirtioNetHeader.TryRead(slot.Slice(SealedFrameHeader.Size - VirtioNetHeader.Size), out VirtioNetHeader header) || length <= 0
            || GsoPacket.Check(header, packet, out VirtioNetHeader normalized) != GsoCheck.Valid)
        {
            _counters.Drop(DropReason.Malformed);
            return false;
        }
        if (normalized.IsGso)
        {
            offload = normalized;
        }
        else if ((normalized.Flags & VirtioNetHeader.NeedsChecksum) != 0)
        {
            GsoPacket.CompleteChecksum(normalized, packet.Slice(0, Ipv4Packet.TotalLength(packet)));
        }
        return true;
    }

    /// <summary>Stops the worker and removes the device (count 1→0).</summary>
    public void Destroy()
    {
        Stop();
        _device.Destroy();
    }

    /// <summary>Stops the worker and closes the descriptor, leaving a persistent device in place (agent shutdown).</summary>
    public void Dispose()
    {
        Stop();
        _device.Dispose();
    }

    private void Stop()
    {
        _stopping = true;
        if (_worker.IsAlive && Thread.CurrentThread != _worker)
        {
            _worker.Join(TimeSpan.FromSeconds(2));
        }
    }
}
