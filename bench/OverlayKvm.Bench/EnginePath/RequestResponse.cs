using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using OverlayKvm.Core.Interop;
using CoreInterop = OverlayKvm.Core.Interop.Interop;

namespace OverlayKvm.Bench.EnginePath;

/// <summary>A 1-byte TCP request/response loop between two namespaces (NODELAY, one connection, after 200 warm-up exchanges).</summary>
internal static class RequestResponse
{
    public static double MeanMicros(string clientNs, string serverNs, string clientAddress, string serverAddress, int exchanges)
    {
        using Socket listener = OpenIn(serverNs);
        listener.Bind(new IPEndPoint(IPAddress.Parse(serverAddress), 0));
        listener.Listen(1);
        int port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        Task serve = Task.Factory.StartNew(() =>
        {
            using Socket s = listener.Accept();
            s.NoDelay = true;
            var one = new byte[1];
            while (s.Receive(one) == 1)
            {
                s.Send(one);
            }
        }, TaskCreationOptions.LongRunning);

        using Socket c = OpenIn(clientNs);
        c.Bind(new IPEndPoint(IPAddress.Parse(clientAddress), 0));
        c.Connect(new IPEndPoint(IPAddress.Parse(serverAddress), port));
        c.NoDelay = true;
        c.ReceiveTimeout = 5000;
        var buffer = new byte[1];
        for (int i = 0; i < 200; i++)
        {
            c.Send(buffer);
            c.Receive(buffer);
        }

        var clock = Stopwatch.StartNew();
        for (int i = 0; i < exchanges; i++)
        {
            c.Send(buffer);
            c.Receive(buffer);
        }

        double micros = clock.Elapsed.TotalMicroseconds / exchanges;
        c.Shutdown(SocketShutdown.Both);
        serve.Wait(5000);
        return micros;
    }

    /// <summary>A TCP socket created inside the namespace (setns on a throw-away thread: the socket keeps its namespace).</summary>
    internal static Socket OpenIn(string ns)
    {
        Socket? socket = null;
        Exception? failure = null;
        var t = new Thread(() =>
        {
            try
            {
                using SafeFdHandle fd = SafeFdHandle.Open($"/var/run/netns/{ns}", 0);
                IoCheck.Check(CoreInterop.SetNs(fd, CoreInterop.CLONE_NEWNET), $"setns {ns}");
                socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            }
            catch (Exception ex) when (ex is IOException or SocketException or UnauthorizedAccessException)
            {
                failure = ex;
            }
        });
        t.Start();
        t.Join();
        return socket ?? throw new InvalidOperationException($"socket in namespace {ns}: {failure?.Message}", failure);
    }
}
