using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OverlayKvm.GuestAgent.Hosting;
using OverlayKvm.GuestAgent.Pipeline;

namespace OverlayKvm.GuestAgent.Transport;

/// <summary>
/// The UDP socket of the sealed path, bound to the overlay port on this VM. Sends use the span + SocketAddress
/// overloads, which allocate nothing per datagram. Buffers are raised because a full receive queue is where
/// userspace tunnels lose packets first (wireguard-go on this machine drops tens of thousands per 10 s).
/// With offloads (AgentOptions.TunOffloads, issue 16) the socket also takes UDP GSO and GRO: the TUN
/// workers' batches send runs of equal-sized frames as one UDP_SEGMENT message (<see cref="SendSegmentation"/>),
/// and the receiver asks for UDP_GRO, getting such runs back as one buffer to split.
/// </summary>
internal sealed partial class UdpTransport : IFrameSender, IDisposable
{
    private readonly ILogger<UdpTransport> _logger;
    private int _segmentationRefused;

    public UdpTransport(IOptions<AgentOptions> options, ILogger<UdpTransport> logger)
    {
        _logger = logger;
        var o = options.Value;
        Socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        SetBuffer(Socket, SoRcvBufForce, SocketOptionName.ReceiveBuffer, o.SocketBufferBytes);
        SetBuffer(Socket, SoSndBufForce, SocketOptionName.SendBuffer, o.SocketBufferBytes);
        try
        {
            Socket.Bind(new IPEndPoint(IPAddress.Parse(o.BindAddress), o.OverlayPort));
        }
        catch (SocketException ex)
        {
            Socket.Dispose();
            throw new InvalidOperationException($"overlay UDP socket: cannot bind {o.BindAddress}:{o.OverlayPort}: {ex.Message}", ex);
        }
        if (o.TunOffloads)
        {
            SendSegmentation = true;
            ReceivesCoalesced = TryEnableGro(Socket);
            Log.UdpOffloads(_logger, ReceivesCoalesced);
        }
    }

    /// <summary>Batches may join runs of frames into UDP_SEGMENT messages (until the kernel refuses one).</summary>
    public bool SendSegmentation { get; private set; }

    /// <summary>UDP_GRO is on: a received buffer may hold several frames (see <see cref="Core.Buffers.DatagramBatch.ReceivedSegmentSize"/>).</summary>
    public bool ReceivesCoalesced { get; }

    /// <summary>A batch saw the kernel refuse a UDP_SEGMENT message: stop for every batch, say so once.</summary>
    public void OnSegmentationRefused()
    {
        SendSegmentation = false;
        if (Interlocked.Exchange(ref _segmentationRefused, 1) == 0)
        {
            Log.SegmentationRefused(_logger);
        }
    }

    private static bool TryEnableGro(Socket socket)
    {
        Span<byte> on = stackalloc byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(on, 1);
        try
        {
            socket.SetRawSocketOption(Core.Interop.Interop.SOL_UDP, Core.Interop.Interop.UDP_GRO, on);
            return true;
        }
        catch (SocketException)
        {
            // A kernel before 5.0: datagrams arrive one by one, as before.
            return false;
        }
    }

    private const int SolSocket = 1;
    private const int SoSndBufForce = 32;
    private const int SoRcvBufForce = 33;

    public Socket Socket { get; }

    /// <summary>
    /// SO_RCVBUFFORCE/SO_SNDBUFFORCE (root) go past net.core.rmem_max/wmem_max (often 208 KiB, a few
    /// milliseconds of traffic); without the privilege, fall back to the capped ordinary option.
    /// </summary>
    private static void SetBuffer(Socket socket, int forceOption, SocketOptionName option, int bytes)
    {
        Span<byte> value = stackalloc byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(value, bytes);
        try
        {
            socket.SetRawSocketOption(SolSocket, forceOption, value);
        }
        catch (SocketException)
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, option, bytes);
        }
    }

    public bool TrySend(ReadOnlySpan<byte> frame, SocketAddress destination)
    {
        try
        {
            return Socket.SendTo(frame, SocketFlags.None, destination) == frame.Length;
        }
        catch (SocketException)
        {
            // ENOBUFS / EHOSTUNREACH under load or while the underlay is down: a counted drop, not a crash.
            return false;
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
    }

    public void Dispose() => Socket.Dispose();

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "overlay UDP socket: UDP GSO on for sending, UDP GRO {Gro} for receiving")]
        public static partial void UdpOffloads(ILogger logger, bool gro);

        [LoggerMessage(2, LogLevel.Warning, "overlay UDP socket: the kernel refused a UDP_SEGMENT send (no checksum offload on the underlay, or a frame larger than its MTU); frames are sent one datagram each from now on")]
        public static partial void SegmentationRefused(ILogger logger);
    }
}
