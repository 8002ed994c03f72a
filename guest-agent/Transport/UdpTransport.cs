using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;
using OverlayKvm.GuestAgent.Hosting;
using OverlayKvm.GuestAgent.Pipeline;

namespace OverlayKvm.GuestAgent.Transport;

/// <summary>
/// The UDP socket of the sealed path, bound to the overlay port on this VM. Sends use the span + SocketAddress
/// overloads, which allocate nothing per datagram. Buffers are raised because a full receive queue is where
/// userspace tunnels lose packets first (wireguard-go on this machine drops tens of thousands per 10 s).
/// </summary>
internal sealed class UdpTransport : IFrameSender, IDisposable
{
    public UdpTransport(IOptions<AgentOptions> options)
    {
        var o = options.Value;
        Socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        Socket.ReceiveBufferSize = o.SocketBufferBytes;
        Socket.SendBufferSize = o.SocketBufferBytes;
        try
        {
            Socket.Bind(new IPEndPoint(IPAddress.Parse(o.BindAddress), o.OverlayPort));
        }
        catch (SocketException ex)
        {
            Socket.Dispose();
            throw new InvalidOperationException($"overlay UDP socket: cannot bind {o.BindAddress}:{o.OverlayPort}: {ex.Message}", ex);
        }
    }

    public Socket Socket { get; }

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
}
