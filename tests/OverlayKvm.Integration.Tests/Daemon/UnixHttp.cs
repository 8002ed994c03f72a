using System.Net.Sockets;

namespace OverlayKvm.Integration.Tests.Daemon;

/// <summary>A raw HttpClient on overlayd's unix socket, for requests overlayctl would never send (malformed bodies).</summary>
internal static class UnixHttp
{
    public static HttpClient Create(string socket) =>
        new(new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                await s.ConnectAsync(new UnixDomainSocketEndPoint(socket), ct);
                return new NetworkStream(s, ownsSocket: true);
            },
        })
        { BaseAddress = new Uri("http://overlayd/"), Timeout = TimeSpan.FromSeconds(30) };
}
