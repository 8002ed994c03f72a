using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using OverlayKvm.Core.SharedMemory;

namespace OverlayKvm.RingStress;

/// <summary>
/// Two-process measurement (issue 4, "Measure"): this process and a child it starts, first over an engine ring
/// pair, then over kernel loopback TCP, same message sizes and protocol; prints the figures side by side.
/// </summary>
internal static class BenchMode
{
    private const int SmallSize = 64;
    private const int LargeSize = 64 * 1024;

    public static int Run(StressArguments args)
    {
        string path = args.Text("region");
        int roundTrips = (int)args.Number("roundtrips", 200_000);
        int messages = (int)args.Number("messages", 50_000);
        long size = args.Number("size", 16L << 20);
        try
        {
            using (SharedMemoryMapping mapping = SharedMemoryMapping.CreateOrOpen(path, size, UnixFileMode.UserRead | UnixFileMode.UserWrite, owner: null))
            using (EngineRegion.Initialize(mapping, "stress", slotCount: 2, generation: 1))
            {
            }

            (Figures ring, int capacity) = MeasureRing(path, roundTrips, messages);
            using (SharedMemoryMapping mapping = SharedMemoryMapping.Open(path))
            using (EngineRegion.Initialize(mapping, "stress", slotCount: 2, generation: 2))
            {
            }

            Figures sleeping = MeasureRingWithDoorbells(path, Math.Min(roundTrips, 20_000));
            Figures tcp = MeasureTcp(roundTrips, messages);
            Console.WriteLine($"two processes on one host; ring capacity {capacity / 1024} KiB; {roundTrips} round trips, {messages} x 64 KiB");
            Console.WriteLine($"{"",-28}{"engine ring",14}{"loopback TCP",14}{"ratio",10}");
            Row("round trip 64 B p50 (ns)", ring.P50Ns, tcp.P50Ns, tcp.P50Ns / ring.P50Ns);
            Row("round trip 64 B p99 (ns)", ring.P99Ns, tcp.P99Ns, tcp.P99Ns / ring.P99Ns);
            Row("round trip 64 B mean (ns)", ring.MeanNs, tcp.MeanNs, tcp.MeanNs / ring.MeanNs);
            Row("throughput 64 KiB (MB/s)", ring.MegabytesPerSecond, tcp.MegabytesPerSecond, ring.MegabytesPerSecond / tcp.MegabytesPerSecond);
            // Both ends asleep between messages (the engine's receive threads when idle): two futex wake-ups per round
            // trip, as loopback TCP's blocking reads pay two wake-ups.
            Console.WriteLine($"{"ring, both ends sleeping on doorbells",-28}");
            Row("  round trip 64 B p50 (ns)", sleeping.P50Ns, tcp.P50Ns, tcp.P50Ns / sleeping.P50Ns);
            Row("  round trip 64 B p99 (ns)", sleeping.P99Ns, tcp.P99Ns, tcp.P99Ns / sleeping.P99Ns);
            Row("  round trip 64 B mean (ns)", sleeping.MeanNs, tcp.MeanNs, tcp.MeanNs / sleeping.MeanNs);
            return 0;
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static void Row(string name, double ring, double tcp, double ratio) =>
        Console.WriteLine($"{name,-28}{ring,14:F0}{tcp,14:F0}{ratio,9:F1}x");

    private static (Figures, int) MeasureRing(string path, int roundTrips, int messages)
    {
        using Process child = StartChild("ring-echo", "--region", path);
        using EngineRegion region = RegionAccess.Attach(path);
        using RingProducer output = region.OpenProducer(0, 1);
        using RingConsumer input = region.OpenConsumer(1, 0);
        byte[] small = new byte[SmallSize];
        byte[] large = new byte[LargeSize];
        byte[] reply = new byte[LargeSize];

        void RoundTrip(byte[] message)
        {
            while (output.TryWrite(message) != RingWriteResult.Written)
            {
                Thread.SpinWait(1);
            }

            while (input.TryRead(reply, out _) != RingReadResult.Message)
            {
                Thread.SpinWait(1);
            }
        }

        small[0] = EchoProtocol.Echo;
        double[] samples = Sample(roundTrips, () => RoundTrip(small));
        large[0] = EchoProtocol.Swallow;
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < messages; i++)
        {
            while (output.TryWrite(large) != RingWriteResult.Written)
            {
                Thread.SpinWait(1);
            }
        }

        small[0] = EchoProtocol.Sync;
        RoundTrip(small);
        TimeSpan elapsed = Stopwatch.GetElapsedTime(start);
        small[0] = EchoProtocol.Quit;
        output.TryWrite(small);
        child.WaitForExit(10_000);
        return (Figures.From(samples, (double)messages * LargeSize / elapsed.TotalSeconds), region.Layout.RingCapacity);
    }

    private static Figures MeasureRingWithDoorbells(string path, int roundTrips)
    {
        using Process child = StartChild("ring-doorbell-echo", "--region", path);
        using EngineRegion region = RegionAccess.Attach(path);
        using var endpoint = new EngineEndpoint(region, 0);
        byte[] small = new byte[SmallSize];
        byte[] reply = new byte[region.Layout.MaxRecordPayload];

        void RoundTrip()
        {
            while (endpoint.TrySend(1, small) != EngineSendResult.Sent)
            {
                Thread.SpinWait(1);
            }

            while (endpoint.TryReceive(reply, out _, out _) != RingReadResult.Message)
            {
                endpoint.WaitForData(EngineDoorbell.DefaultWaitLimit);
            }
        }

        small[0] = EchoProtocol.Echo;
        double[] samples = Sample(roundTrips, RoundTrip);
        small[0] = EchoProtocol.Quit;
        endpoint.TrySend(1, small);
        child.WaitForExit(10_000);
        return Figures.From(samples, 0);
    }

    private static Figures MeasureTcp(int roundTrips, int messages)
    {
        using Process child = StartChild("tcp-echo");
        string portLine = child.StandardOutput.ReadLine() ?? throw new IOException("tcp-echo child printed no port");
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        socket.Connect(new IPEndPoint(IPAddress.Loopback, int.Parse(portLine["port ".Length..])));
        using var stream = new NetworkStream(socket);
        byte[] small = new byte[4 + SmallSize];
        byte[] large = new byte[4 + LargeSize];
        byte[] reply = new byte[4 + SmallSize];
        BinaryPrimitives.WriteInt32LittleEndian(small, SmallSize);
        BinaryPrimitives.WriteInt32LittleEndian(large, LargeSize);

        void RoundTrip()
        {
            socket.Send(small);
            stream.ReadExactly(reply);
        }

        small[4] = EchoProtocol.Echo;
        double[] samples = Sample(roundTrips, RoundTrip);
        large[4] = EchoProtocol.Swallow;
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < messages; i++)
        {
            socket.Send(large);
        }

        small[4] = EchoProtocol.Sync;
        RoundTrip();
        TimeSpan elapsed = Stopwatch.GetElapsedTime(start);
        small[4] = EchoProtocol.Quit;
        socket.Send(small);
        child.WaitForExit(10_000);
        return Figures.From(samples, (double)messages * LargeSize / elapsed.TotalSeconds);
    }

    /// <summary>Times each operation after a warm-up of a tenth as many.</summary>
    private static double[] Sample(int count, Action operation)
    {
        for (int i = 0; i < count / 10; i++)
        {
            operation();
        }

        double[] samples = new double[count];
        for (int i = 0; i < count; i++)
        {
            long t = Stopwatch.GetTimestamp();
            operation();
            samples[i] = Stopwatch.GetElapsedTime(t).TotalNanoseconds;
        }

        return samples;
    }

    private static Process StartChild(params string[] args)
    {
        var info = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (string a in args)
        {
            info.ArgumentList.Add(a);
        }

        Process child = Process.Start(info) ?? throw new IOException("could not start the echo child");
        if (args[0] is "ring-echo" or "ring-doorbell-echo" && child.StandardOutput.ReadLine() != "ready")
        {
            throw new IOException("ring-echo child did not report ready");
        }

        return child;
    }

    private readonly record struct Figures(double P50Ns, double P99Ns, double MeanNs, double MegabytesPerSecond)
    {
        public static Figures From(double[] samples, double bytesPerSecond)
        {
            Array.Sort(samples);
            return new Figures(samples[samples.Length / 2], samples[(int)(samples.Length * 0.99)], samples.Average(), bytesPerSecond / 1e6);
        }
    }
}
