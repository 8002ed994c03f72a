using System.Net;
using System.Net.Sockets;

namespace OverlayKvm.Bench.Engine;

/// <summary>Kernel loopback TCP (127.0.0.1, Nagle off) with a partner thread that echoes or drains fixed-size messages.</summary>
internal sealed class TcpPair : IDisposable
{
    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private readonly Socket _far;
    private readonly Thread _partner;
    private long _drainedBytes;

    public TcpPair(bool echo, int messageSize)
    {
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(1);
        Near = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        Near.Connect(_listener.LocalEndPoint!);
        _far = _listener.Accept();
        _far.NoDelay = true;
        _partner = new Thread(() => Partner(echo, messageSize)) { IsBackground = true, Name = "tcp-partner" };
        _partner.Start();
    }

    public Socket Near { get; }

    public long DrainedBytes => Volatile.Read(ref _drainedBytes);

    public static void ReceiveExactly(Socket socket, Span<byte> buffer)
    {
        int got = 0;
        while (got < buffer.Length)
        {
            int n = socket.Receive(buffer[got..]);
            if (n == 0)
            {
                throw new IOException("loopback TCP peer closed");
            }

            got += n;
        }
    }

    public void Dispose()
    {
        Near.Shutdown(SocketShutdown.Both);
        Near.Dispose();
        _partner.Join();
        _far.Dispose();
        _listener.Dispose();
    }

    private void Partner(bool echo, int messageSize)
    {
        byte[] buffer = new byte[Math.Max(messageSize, 256 * 1024)];
        try
        {
            while (true)
            {
                if (echo)
                {
                    ReceiveExactly(_far, buffer.AsSpan(0, messageSize));
                    _far.Send(buffer.AsSpan(0, messageSize));
                }
                else
                {
                    int n = _far.Receive(buffer);
                    if (n == 0)
                    {
                        return;
                    }

                    Interlocked.Add(ref _drainedBytes, n);
                }
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            // The near side closed: the benchmark is over.
        }
    }
}
