using OverlayKvm.Core.SharedMemory;

namespace OverlayKvm.RingStress;

/// <summary>The far end of the two-process ring benchmark: reads ring 0→1, echoes pings and syncs on ring 1→0.</summary>
internal static class RingEchoMode
{
    public static int Run(StressArguments args)
    {
        using EngineRegion region = RegionAccess.Attach(args.Text("region"));
        using RingConsumer input = region.OpenConsumer(0, 1);
        using RingProducer output = region.OpenProducer(1, 0);
        byte[] buffer = new byte[region.Layout.MaxRecordPayload];
        var backoff = new AdaptiveBackoff();
        Console.WriteLine("ready");
        while (true)
        {
            RingReadResult result = input.TryRead(buffer, out int length);
            if (result == RingReadResult.Empty)
            {
                backoff.Idle();
                continue;
            }

            if (result != RingReadResult.Message)
            {
                Console.WriteLine($"FAIL ring-echo: {result}");
                return 2;
            }

            backoff.Reset();
            byte kind = buffer[0];
            if (kind == EchoProtocol.Quit)
            {
                return 0;
            }

            if (kind is EchoProtocol.Echo or EchoProtocol.Sync)
            {
                while (output.TryWrite(buffer.AsSpan(0, length)) == RingWriteResult.Full)
                {
                    Thread.SpinWait(4);
                }
            }
        }
    }
}
