using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace OverlayKvm.Integration.Tests.Harness;

/// <summary>
/// A 1 ms UDP stream from one namespace's address to another's (issue 15's downtime measure): the sender writes a
/// sequence number every millisecond from a dedicated thread, the receiver notes when each arrives. What the app
/// would see of an interruption is the longest gap between two arrivals, and the numbers that never came.
/// </summary>
internal sealed class UdpPingStream : IDisposable
{
    private readonly Socket _sender;
    private readonly Socket _receiver;
    private readonly IPEndPoint _target;
    private readonly List<(long Ticks, uint Seq)> _arrivals = [];
    private readonly Lock _lock = new();
    private readonly Thread _sendThread;
    private readonly Thread _receiveThread;
    private volatile bool _stop;
    private uint _sent;

    public UdpPingStream(NetNamespace fromNs, string fromAddress, NetNamespace toNs, string toAddress)
    {
        _receiver = toNs.OpenSocket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _receiver.Bind(new IPEndPoint(IPAddress.Parse(toAddress), 0));
        _receiver.ReceiveTimeout = 200;
        _target = new IPEndPoint(IPAddress.Parse(toAddress), ((IPEndPoint)_receiver.LocalEndPoint!).Port);
        _sender = fromNs.OpenSocket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _sender.Bind(new IPEndPoint(IPAddress.Parse(fromAddress), 0));
        _receiveThread = new Thread(Receive) { IsBackground = true, Name = "udp-ping-rx" };
        _sendThread = new Thread(Send) { IsBackground = true, Name = "udp-ping-tx" };
        _receiveThread.Start();
        _sendThread.Start();
    }

    /// <summary>Arrivals so far.</summary>
    public int Received
    {
        get
        {
            lock (_lock)
            {
                return _arrivals.Count;
            }
        }
    }

    /// <summary>Longest gap between two arrivals in [from, to) (Stopwatch ticks), counting the window's edges, and how many arrived in it.</summary>
    public (TimeSpan LongestGap, int Arrived) Window(long fromTicks, long toTicks)
    {
        lock (_lock)
        {
            long longest = 0, previous = fromTicks;
            int arrived = 0;
            foreach (var (ticks, _) in _arrivals)
            {
                if (ticks < fromTicks || ticks >= toTicks)
                {
                    continue;
                }
                arrived++;
                longest = Math.Max(longest, ticks - previous);
                previous = ticks;
            }
            longest = Math.Max(longest, toTicks - previous);
            return (TimeSpan.FromSeconds((double)longest / Stopwatch.Frequency), arrived);
        }
    }

    public uint Sent => Volatile.Read(ref _sent);

    private void Send()
    {
        var payload = new byte[64];
        long next = Stopwatch.GetTimestamp();
        long period = Stopwatch.Frequency / 1000;
        while (!_stop)
        {
            uint seq = Interlocked.Increment(ref _sent);
            BinaryPrimitives.WriteUInt32BigEndian(payload, seq);
            try
            {
                _sender.SendTo(payload, _target);
            }
            catch (SocketException)
            {
                // No route for a moment (the overlay switching paths): the gap is what is measured.
            }
            next += period;
            long wait = next - Stopwatch.GetTimestamp();
            if (wait > 0)
            {
                Thread.Sleep(TimeSpan.FromSeconds((double)wait / Stopwatch.Frequency));
            }
        }
    }

    private void Receive()
    {
        var buffer = new byte[256];
        while (!_stop)
        {
            int n;
            try
            {
                n = _receiver.Receive(buffer);
            }
            catch (SocketException ex) when (ex.SocketErrorCode == SocketError.TimedOut)
            {
                continue;
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                return; // closed by Dispose
            }
            if (n >= 4)
            {
                lock (_lock)
                {
                    _arrivals.Add((Stopwatch.GetTimestamp(), BinaryPrimitives.ReadUInt32BigEndian(buffer)));
                }
            }
        }
    }

    public void Dispose()
    {
        _stop = true;
        _sendThread.Join();
        _receiver.Close();
        _receiveThread.Join();
        _sender.Dispose();
        _receiver.Dispose();
    }
}
