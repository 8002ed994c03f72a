using OverlayKvm.Core.SharedMemory;
using OverlayKvm.RingStress;

// overlay-ring-stress: hammers one engine ring from two processes (issue 4, Show 4).
//   init    --region PATH --size BYTES [--slots N]          create a fresh region file (0600)
//   produce --region PATH --count N --seed S [--min 1 --max 9000 --from 0 --to 1]
//   consume --region PATH --count N --seed S [... --progress FILE --resume --progress-every K]
//   bench   --region PATH [--roundtrips N --messages M --size BYTES]   ring vs loopback TCP, two processes
//   ring-echo|ring-doorbell-echo --region PATH / tcp-echo             the child processes of bench
//   doorbell-wait --region PATH --slot N [--limit-ms MS]       sleep on slot N's doorbell, report how it woke
//   scribble|hostile-produce|hostile-consume --region PATH --seconds N   hostile-region run (Show 5)
// Exit codes: 0 ok, 1 usage/setup error, 2 verification failure, 3 stalled.
try
{
    StressArguments parsed = StressArguments.Parse(args);
    switch (parsed.Mode)
    {
        case "init":
            using (SharedMemoryMapping mapping = SharedMemoryMapping.CreateOrOpen(parsed.Text("region"), parsed.Number("size"),
                       UnixFileMode.UserRead | UnixFileMode.UserWrite, owner: null))
            using (EngineRegion region = EngineRegion.Initialize(mapping, parsed.OptionalText("group") ?? "stress", (int)parsed.Number("slots", 2), generation: 1))
            {
                Console.WriteLine($"ok ring-capacity={region.Layout.RingCapacity} max-payload={region.Layout.MaxRecordPayload}");
            }

            return 0;
        case "produce":
            return ProducerMode.Run(parsed);
        case "consume":
            return ConsumerMode.Run(parsed);
        case "bench":
            return BenchMode.Run(parsed);
        case "ring-echo":
            return RingEchoMode.Run(parsed);
        case "ring-doorbell-echo":
            return RingDoorbellEchoMode.Run(parsed);
        case "tcp-echo":
            return TcpEchoMode.Run(parsed);
        case "doorbell-wait":
            return DoorbellWaitMode.Run(parsed);
        case "scribble":
            return HostileMode.Scribble(parsed);
        case "hostile-produce":
            return HostileMode.Produce(parsed);
        case "hostile-consume":
            return HostileMode.Consume(parsed);
        default:
            Console.Error.WriteLine($"unknown mode '{parsed.Mode}' (init|produce|consume|bench|ring-echo|ring-doorbell-echo|tcp-echo|doorbell-wait|scribble|hostile-produce|hostile-consume)");
            return 1;
    }
}
catch (Exception e) when (e is ArgumentException or IOException or System.Net.Sockets.SocketException or UnauthorizedAccessException or InvalidDataException)
{
    Console.Error.WriteLine($"overlay-ring-stress: {e.Message}");
    return 1;
}
