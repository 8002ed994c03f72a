using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace OverlayKvm.Bench.EnginePath;

/// <summary>
/// Many small request/response exchanges at once, the way a service with many clients loads a tunnel: N TCP
/// connections (NODELAY) from the client namespace to one server, each a thread that sends a request of M bytes and
/// waits for the M-byte answer, in a loop; the server echoes on a thread per connection. After one second of warm-up
/// the transactions completed by all connections are counted over the given time. Blocking threads on both ends
/// keep it simple and the same for every path measured: the harness's own cost (two thread wake-ups per exchange)
/// is in every figure, the veth one included, so the ratios compare the tunnels.
/// </summary>
internal static class ManyConnections
{
    /// <summary>Counters one cache line apart: each connection's thread writes only its own.</summary>
    private const int Stride = 16;

    /// <summary>
    /// Aggregate transactions per second, and the CPU each transaction cost the tunnel's processes
    /// (<paramref name="tunnelJiffies"/>; NaN without) and this harness (both ends' threads), in µs, over the
    /// counted window; prints the spread between the connections.
    /// </summary>
    public static (double Rate, double TunnelMicrosPerTx, double HarnessMicrosPerTx) TransactionsPerSecond(string clientNs, string serverNs,
        string clientAddress, string serverAddress, int connections, int messageBytes, TimeSpan duration, Func<long>? tunnelJiffies)
    {
        var failures = new ConcurrentQueue<string>();
        var open = new List<Socket>();
        var threads = new List<Thread>();
        long[] counts = new long[connections * Stride];
        bool stop = false;
        using Socket listener = RequestResponse.OpenIn(serverNs);
        try
        {
            listener.Bind(new IPEndPoint(IPAddress.Parse(serverAddress), 0));
            listener.Listen(connections);
            int port = ((IPEndPoint)listener.LocalEndPoint!).Port;
            var acceptor = new Thread(() => Accept(listener, connections, messageBytes, threads, open, failures, () => Volatile.Read(ref stop))) { IsBackground = true };
            acceptor.Start();
            for (int i = 0; i < connections; i++)
            {
                Socket c = RequestResponse.OpenIn(clientNs);
                lock (open)
                {
                    open.Add(c);
                }

                c.Bind(new IPEndPoint(IPAddress.Parse(clientAddress), 0));
                c.Connect(new IPEndPoint(IPAddress.Parse(serverAddress), port));
                c.NoDelay = true;
                c.ReceiveTimeout = 5000;
                int index = i;
                var t = new Thread(() => Exchange(c, index, messageBytes, counts, failures, () => Volatile.Read(ref stop))) { IsBackground = true };
                lock (threads)
                {
                    threads.Add(t);
                }

                t.Start();
            }

            acceptor.Join(TimeSpan.FromSeconds(10));
            Thread.Sleep(TimeSpan.FromSeconds(1));
            long tunnelBefore = tunnelJiffies?.Invoke() ?? 0;
            long harnessBefore = Datapath.BenchShell.ProcessJiffies(Environment.ProcessId);
            long[] before = Snapshot(counts, connections);
            var clock = Stopwatch.StartNew();
            Thread.Sleep(duration);
            long[] after = Snapshot(counts, connections);
            long tunnelUsed = (tunnelJiffies?.Invoke() ?? 0) - tunnelBefore;
            long harnessUsed = Datapath.BenchShell.ProcessJiffies(Environment.ProcessId) - harnessBefore;
            double seconds = clock.Elapsed.TotalSeconds;
            Volatile.Write(ref stop, true);
            long total = 0, min = long.MaxValue, max = 0;
            for (int i = 0; i < connections; i++)
            {
                long done = after[i] - before[i];
                total += done;
                min = Math.Min(min, done);
                max = Math.Max(max, done);
            }

            if (!failures.IsEmpty)
            {
                throw new InvalidOperationException($"{connections} connections {clientAddress} -> {serverAddress}: {string.Join("; ", failures)}");
            }

            if (min == 0)
            {
                throw new InvalidOperationException($"{connections} connections {clientAddress} -> {serverAddress}: a connection completed no exchange in {seconds:F1} s");
            }

            double rate = total / seconds;
            // Jiffies are 10 ms (USER_HZ 100): over a window of seconds and tens of thousands of transactions, fine.
            double tunnelPerTx = tunnelJiffies is null ? double.NaN : tunnelUsed * 1e4 / total;
            double harnessPerTx = harnessUsed * 1e4 / total;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"   {connections} connections x {messageBytes} B request/response: {rate:F0} transactions/s ({total} in {seconds:F1} s; per connection {min}..{max}); CPU per transaction: tunnel {tunnelPerTx:F1} us, harness {harnessPerTx:F1} us"));
            return (rate, tunnelPerTx, harnessPerTx);
        }
        finally
        {
            Volatile.Write(ref stop, true);
            List<Thread> started;
            lock (threads)
            {
                started = [.. threads];
            }

            // Clients leave their loop at the flag (each within one exchange or its 5 s receive timeout); closing the
            // sockets then ends the server threads (receive returns 0 or fails).
            var deadline = Stopwatch.StartNew();
            foreach (Thread t in started)
            {
                t.Join(TimeSpan.FromSeconds(6) - Min(deadline.Elapsed, TimeSpan.FromSeconds(6)));
            }

            lock (open)
            {
                foreach (Socket s in open)
                {
                    s.Dispose();
                }
            }
        }
    }

    private static void Accept(Socket listener, int connections, int messageBytes, List<Thread> threads, List<Socket> open, ConcurrentQueue<string> failures, Func<bool> stopping)
    {
        try
        {
            for (int i = 0; i < connections; i++)
            {
                Socket s = listener.Accept();
                lock (open)
                {
                    open.Add(s);
                }

                s.NoDelay = true;
                var t = new Thread(() => Echo(s, messageBytes, failures, stopping)) { IsBackground = true };
                lock (threads)
                {
                    threads.Add(t);
                }

                t.Start();
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            if (!stopping())
            {
                failures.Enqueue($"accept: {e.Message}");
            }
        }
    }

    private static void Echo(Socket s, int messageBytes, ConcurrentQueue<string> failures, Func<bool> stopping)
    {
        byte[] buffer = new byte[messageBytes];
        string client = s.RemoteEndPoint?.ToString() ?? "?";
        try
        {
            while (ReceiveAll(s, buffer))
            {
                s.Send(buffer);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            if (!stopping())
            {
                failures.Enqueue($"server end of {client}: {e.Message}");
            }
        }
    }

    private static void Exchange(Socket c, int index, int messageBytes, long[] counts, ConcurrentQueue<string> failures, Func<bool> stopping)
    {
        byte[] buffer = new byte[messageBytes];
        try
        {
            while (!stopping())
            {
                c.Send(buffer);
                if (!ReceiveAll(c, buffer))
                {
                    failures.Enqueue($"connection {index}: the server closed it");
                    return;
                }

                Volatile.Write(ref counts[index * Stride], counts[index * Stride] + 1);
            }

            c.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException e)
        {
            failures.Enqueue($"connection {index}: {e.SocketErrorCode} ({e.Message})");
        }
    }

    /// <summary>Reads exactly buffer.Length bytes; false if the peer closed first.</summary>
    private static bool ReceiveAll(Socket s, byte[] buffer)
    {
        int got = 0;
        while (got < buffer.Length)
        {
            int n = s.Receive(buffer, got, buffer.Length - got, SocketFlags.None);
            if (n == 0)
            {
                return false;
            }

            got += n;
        }

        return true;
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private static long[] Snapshot(long[] counts, int connections)
    {
        long[] values = new long[connections];
        for (int i = 0; i < connections; i++)
        {
            values[i] = Volatile.Read(ref counts[i * Stride]);
        }

        return values;
    }
}
