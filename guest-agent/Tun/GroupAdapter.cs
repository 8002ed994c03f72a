using OverlayKvm.Core.Interop;
using OverlayKvm.Core.Wire;
using OverlayKvm.GuestAgent.Pipeline;

namespace OverlayKvm.GuestAgent.Tun;

/// <summary>
/// The proxy overlay entity of one group in this VM (R0.6): a TUN device plus its long-lived read worker. The
/// worker reads packets into one pinned buffer after sealed-frame headroom and hands them to
/// <see cref="SendPath"/>; delivery into the VM goes through <see cref="TryWrite"/>.
/// </summary>
internal sealed class GroupAdapter : IPacketSink, IDisposable
{
    private readonly TunDevice _device;
    private readonly SendPath _send;
    private readonly DatapathCounters _counters;
    private readonly Thread _worker;
    private volatile bool _stopping;

    public GroupAdapter(string group, uint groupId, TunDevice device, SendPath send, DatapathCounters counters)
    {
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

    private void Run()
    {
        // Headroom for the sealed-frame header, room for the largest IP packet, and the tag after it.
        byte[] buffer = GC.AllocateUninitializedArray<byte>(SealedFrameHeader.Size + 65535 + SealedFrameHeader.TagSize, pinned: true);
        Span<byte> packetArea = buffer.AsSpan(SealedFrameHeader.Size, 65535);
        while (!_stopping)
        {
            int n;
            try
            {
                n = _device.Read(packetArea, out Errno errno);
                if (n == 0)
                {
                    FdIo.WaitReadable(_device.Handle, 200);
                    continue;
                }
                if (n < 0)
                {
                    _counters.Drop(DropReason.IoError);
                    FdIo.WaitReadable(_device.Handle, 200);
                    continue;
                }
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            _send.Process(GroupId, buffer, n);
        }
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
