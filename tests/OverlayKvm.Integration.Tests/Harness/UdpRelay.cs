using System.Net;
using System.Net.Sockets;

namespace OverlayKvm.Integration.Tests.Harness;

/// <summary>
/// The adversary on the network: a UDP relay in its own namespace between two VMs. VM A is told that B lives at
/// <c>addressForB</c> and B that A lives at <c>addressForA</c> (both addresses of the relay), so every frame passes
/// through here and keeps an outer source the receiver accepts. The test can flip bytes in flight, record frames
/// and replay them, and inject its own datagrams toward B.
/// </summary>
internal sealed class UdpRelay : IDisposable
{
    private readonly Socket _facingA;
    private readonly Socket _facingB;
    private readonly IPEndPoint _a;
    private readonly IPEndPoint _b;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _loops = new();
    private long _forwardedToB;

    public UdpRelay(NetNamespace relayNs, string addressForB, string addressForA, IPEndPoint a, IPEndPoint b, int port)
    {
        _facingA = relayNs.OpenSocket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _facingA.Bind(new IPEndPoint(IPAddress.Parse(addressForB), port));
        _facingB = relayNs.OpenSocket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _facingB.Bind(new IPEndPoint(IPAddress.Parse(addressForA), port));
        _a = a;
        _b = b;
    }

    /// <summary>Called for each frame A→B before it is forwarded; may modify it. Index counts from 0.</summary>
    public Action<long, byte[], int>? TamperToB { get; set; }

    /// <summary>Frames A→B as forwarded (copies), for replay.</summary>
    public List<byte[]> RecordedToB { get; } = new();

    public bool Record { get; set; }

    public long ForwardedToB => Interlocked.Read(ref _forwardedToB);

    public void Start()
    {
        _loops.Add(Task.Run(() => LoopAsync(_facingA, _facingB, _b, toB: true)));
        _loops.Add(Task.Run(() => LoopAsync(_facingB, _facingA, _a, toB: false)));
    }

    /// <summary>Sends a datagram to B as if from A (source = the relay address B knows as A).</summary>
    public void InjectToB(ReadOnlySpan<byte> datagram) => _facingB.SendTo(datagram, SocketFlags.None, _b);

    /// <summary>Sends a datagram to B from the relay's other address (one B does not know as A's).</summary>
    public void InjectToBFromWrongAddress(ReadOnlySpan<byte> datagram) => _facingA.SendTo(datagram, SocketFlags.None, _b);

    private async Task LoopAsync(Socket from, Socket to, IPEndPoint destination, bool toB)
    {
        var buffer = new byte[65536];
        EndPoint any = new IPEndPoint(IPAddress.Any, 0);
        while (!_stop.IsCancellationRequested)
        {
            SocketReceiveFromResult r;
            try
            {
                r = await from.ReceiveFromAsync(buffer, SocketFlags.None, any, _stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            if (toB)
            {
                long index = Interlocked.Increment(ref _forwardedToB) - 1;
                if (Record)
                {
                    lock (RecordedToB)
                    {
                        RecordedToB.Add(buffer.AsSpan(0, r.ReceivedBytes).ToArray());
                    }
                }
                TamperToB?.Invoke(index, buffer, r.ReceivedBytes);
            }
            await to.SendToAsync(buffer.AsMemory(0, r.ReceivedBytes), SocketFlags.None, destination);
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _facingA.Dispose();
        _facingB.Dispose();
        try
        {
            Task.WaitAll(_loops.ToArray(), TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
            // Loops end with the sockets they were reading; their exceptions are the expected shutdown.
        }
        _stop.Dispose();
    }
}
