using System.Diagnostics;
using OverlayKvm.Core.SharedMemory;

namespace OverlayKvm.RingStress;

/// <summary>Writes the planned messages into one ring, backing off while it is full.</summary>
internal static class ProducerMode
{
    public static int Run(StressArguments args)
    {
        long count = args.Number("count");
        var plan = new MessagePlan((ulong)args.Number("seed"), (int)args.Number("min", 1), (int)args.Number("max", 9000));
        TimeSpan stallLimit = TimeSpan.FromSeconds(args.Number("stall-seconds", 30));
        using EngineRegion region = RegionAccess.Attach(args.Text("region"));
        using RingProducer producer = region.OpenProducer((int)args.Number("from", 0), (int)args.Number("to", 1));
        byte[] buffer = new byte[(int)args.Number("max", 9000)];

        var clock = Stopwatch.StartNew();
        long bytes = 0;
        long lastProgress = clock.ElapsedTicks;
        var backoff = new AdaptiveBackoff();
        for (long seq = 0; seq < count; seq++)
        {
            (int size, int offset) = plan.NextMessage();
            Span<byte> message = buffer.AsSpan(0, size);
            plan.Fill(seq, offset, message);
            while (true)
            {
                RingWriteResult result = producer.TryWrite(message);
                if (result == RingWriteResult.Written)
                {
                    backoff.Reset();
                    lastProgress = clock.ElapsedTicks;
                    break;
                }

                if (result != RingWriteResult.Full)
                {
                    Console.WriteLine($"FAIL produce seq={seq} result={result} faults={producer.Faults.Total}");
                    return 2;
                }

                if (Stopwatch.GetElapsedTime(lastProgress, clock.ElapsedTicks) > stallLimit)
                {
                    Console.WriteLine($"FAIL produce stalled at seq={seq}: ring full for {stallLimit.TotalSeconds} s");
                    return 3;
                }

                backoff.Idle();
            }

            bytes += size;
        }

        Console.WriteLine($"ok sent={count} bytes={bytes} wraps={producer.Wraps} faults={producer.Faults.Total} seconds={clock.Elapsed.TotalSeconds:F2}");
        return 0;
    }
}
