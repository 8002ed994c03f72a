using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace OverlayKvm.RingStress;

/// <summary>
/// The far end of the loopback-TCP comparison, same protocol as the ring: frames of u32 length + payload whose
/// first byte says echo, sync, swallow or quit. Listens on 127.0.0.1 (an ephemeral port, printed).
/// </summary>
internal static class TcpEchoMode
{
    public static int Run(StressArguments args)
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        Console.WriteLine($"port {((IPEndPoint)listener.LocalEndPoint!).Port}");
        using Socket peer = listener.Accept();
        peer.NoDelay = true;
        using var stream = new NetworkStream(peer);
        byte[] header = new byte[4];
        byte[] buffer = new byte[1 << 20];
        while (true)
        {
            stream.ReadExactly(header);
            int length = BinaryPrimitives.ReadInt32LittleEndian(header);
            if (length < 1 || length > buffer.Length - 4)
            {
                Console.WriteLine($"FAIL tcp-echo: frame length {length}");
                return 2;
            }

            stream.ReadExactly(buffer.AsSpan(4, length));
            byte kind = buffer[4];
            if (kind == EchoProtocol.Quit)
            {
                return 0;
            }

            if (kind is EchoProtocol.Echo or EchoProtocol.Sync)
            {
                header.CopyTo(buffer, 0);
                peer.Send(buffer.AsSpan(0, 4 + length));
            }
        }
    }
}
