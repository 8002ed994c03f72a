using OverlayKvm.Core.SharedMemory;

namespace OverlayKvm.RingStress;

/// <summary>
/// The far end of the doorbell round-trip measurement in <c>bench</c>: slot 1's <see cref="EngineEndpoint"/> sleeps
/// on its doorbell whenever its rings are empty (no spinning) and echoes pings back to slot 0, whose send rings the
/// parent's doorbell. So each round trip pays two futex wake-ups, as a blocking socket pair pays two wake-ups.
/// </summary>
internal static class RingDoorbellEchoMode
{
    public static int Run(StressArguments args)
    {
        using EngineRegion region = RegionAccess.Attach(args.Text("region"));
        using var endpoint = new EngineEndpoint(region, 1);
        byte[] buffer = new byte[region.Layout.MaxRecordPayload];
        Console.WriteLine("ready");
        while (true)
        {
            RingReadResult result = endpoint.TryReceive(buffer, out int length, out _);
            if (result == RingReadResult.Empty)
            {
                endpoint.WaitForData(EngineDoorbell.DefaultWaitLimit);
                continue;
            }

            if (result != RingReadResult.Message)
            {
                Console.WriteLine($"FAIL ring-doorbell-echo: {result}");
                return 2;
            }

            if (buffer[0] == EchoProtocol.Quit)
            {
                return 0;
            }

            if (buffer[0] == EchoProtocol.Echo)
            {
                while (endpoint.TrySend(0, buffer.AsSpan(0, length)) == EngineSendResult.Full)
                {
                    Thread.SpinWait(4);
                }
            }
        }
    }
}
