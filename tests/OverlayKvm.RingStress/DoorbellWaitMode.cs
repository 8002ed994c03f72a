using System.Diagnostics;
using OverlayKvm.Core.SharedMemory;

namespace OverlayKvm.RingStress;

/// <summary>
/// <c>doorbell-wait</c>: the receiving end of slot <c>--slot</c> goes idle and sleeps on its doorbell
/// (<see cref="EngineEndpoint.WaitForData"/>, one wait bounded by <c>--limit-ms</c>) until a record arrives from any
/// peer. Prints <c>sleeping</c> before the first wait, then one line
/// <c>ok first-wait=Woken|TimedOut|ValueChanged|Slept waits=N length=L elapsed-ms=T</c> once a record was read.
/// Exit 3 if nothing arrived within 10 limits.
/// </summary>
internal static class DoorbellWaitMode
{
    public static int Run(StressArguments args)
    {
        TimeSpan limit = TimeSpan.FromMilliseconds(args.Number("limit-ms", 10_000));
        using EngineRegion region = RegionAccess.Attach(args.Text("region"));
        using var endpoint = new EngineEndpoint(region, (int)args.Number("slot"));
        byte[] buffer = new byte[region.Layout.MaxRecordPayload];
        Console.WriteLine("sleeping");
        var clock = Stopwatch.StartNew();
        DoorbellWaitResult? first = null;
        for (int waits = 1; waits <= 10; waits++)
        {
            DoorbellWaitResult result = endpoint.WaitForData(limit);
            first ??= result;
            if (endpoint.TryReceive(buffer, out int length, out int from) == RingReadResult.Message)
            {
                Console.WriteLine($"ok first-wait={first} waits={waits} length={length} from={from} elapsed-ms={clock.ElapsedMilliseconds}");
                return 0;
            }
        }

        Console.WriteLine($"FAIL doorbell-wait: nothing arrived in 10 waits of {limit.TotalMilliseconds} ms (first {first})");
        return 3;
    }
}
