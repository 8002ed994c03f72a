using System.Diagnostics;
using OverlayKvm.Core.SharedMemory;

namespace OverlayKvm.RingStress;

/// <summary>
/// Issue 4, Show 5 across processes: <c>scribble</c> writes random bytes over the header page, the slot table and
/// ring 0→1 while <c>hostile-produce</c> and <c>hostile-consume</c> keep using that ring. The two ends must count
/// what they detect (ring faults, header status) and keep going; the consumer sleeps on slot 1's doorbell when the
/// ring is empty and the producer rings it, while the scribbler also hammers that doorbell word (a hostile doorbell
/// must never hang either side: every wait is bounded); payload bytes a scribbler changes in place are not
/// detectable by the ring (nor meant to be: packets from the ring are untrusted input to the receiver).
/// Each mode runs for <c>--seconds</c> and prints one <c>ok key=value ...</c> line.
/// </summary>
internal static class HostileMode
{
    public static int Scribble(StressArguments args)
    {
        var random = new Random((int)args.Number("seed", 1));
        TimeSpan duration = TimeSpan.FromSeconds(args.Number("seconds", 3));
        using EngineRegion region = RegionAccess.Attach(args.Text("region"));
        Span<byte> meta = region.Mapping.GetSpan(0, region.Layout.RingsOffset);
        Span<byte> ring = region.Mapping.GetSpan(region.Layout.RingOffset(0, 1), EngineRegionLayout.RingControlSize + region.Layout.RingCapacity);
        int doorbell = (int)region.Layout.DoorbellOffset(1);
        long writes = 0;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < duration)
        {
            meta[doorbell + random.Next(4)] = (byte)random.Next(256);                     // the consumer's doorbell word
            meta[random.Next(256)] = (byte)random.Next(256);                              // header, control, identity
            meta[random.Next(meta.Length)] = (byte)random.Next(256);                      // anywhere in the metadata
            ring[random.Next(EngineRegionLayout.RingControlSize)] = (byte)random.Next(256); // indices
            ring[random.Next(ring.Length)] = (byte)random.Next(256);                      // records
            writes += 5;
            Thread.SpinWait(500);
        }

        Console.WriteLine($"ok writes={writes}");
        return 0;
    }

    public static int Produce(StressArguments args)
    {
        TimeSpan duration = TimeSpan.FromSeconds(args.Number("seconds", 4));
        using EngineRegion region = RegionAccess.Attach(args.Text("region"));
        using RingProducer producer = region.OpenProducer(0, 1);
        using EngineDoorbell doorbell = region.OpenDoorbell(1);
        byte[] message = new byte[1500];
        long written = 0, full = 0, corrupt = 0;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < duration)
        {
            switch (producer.TryWrite(message.AsSpan(0, 1 + (int)(written % 1500))))
            {
                case RingWriteResult.Written:
                    written++;
                    doorbell.Ring();
                    if (written % 64 == 0)
                    {
                        Thread.Sleep(1); // let the consumer drain and fall asleep, so waits and wakes happen under scribbling
                    }

                    break;
                case RingWriteResult.Full: full++; Thread.SpinWait(20); break;
                default: corrupt++; break;
            }
        }

        Console.WriteLine($"ok written={written} full={full} corrupt={corrupt} faults={producer.Faults.Total} wakes={doorbell.WakesSent}");
        return 0;
    }

    public static int Consume(StressArguments args)
    {
        TimeSpan duration = TimeSpan.FromSeconds(args.Number("seconds", 4));
        using EngineRegion region = RegionAccess.Attach(args.Text("region"));
        using RingConsumer consumer = region.OpenConsumer(0, 1);
        using EngineDoorbell doorbell = region.OpenDoorbell(1);
        byte[] buffer = new byte[region.Layout.MaxRecordPayload];
        long received = 0, corrupt = 0, headerFaults = 0, slotFaults = 0, rounds = 0;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < duration)
        {
            RingReadResult result = consumer.TryRead(buffer, out int length);
            if (result == RingReadResult.Message)
            {
                if (length < 1 || length > buffer.Length)
                {
                    Console.WriteLine($"FAIL hostile-consume: delivered length {length} outside 1..{buffer.Length}");
                    return 2;
                }

                received++;
            }
            else if (result == RingReadResult.Corrupt)
            {
                corrupt++;
            }
            else if (result == RingReadResult.Empty)
            {
                doorbell.Announce();
                if (!consumer.HasPending)
                {
                    doorbell.Wait(TimeSpan.FromMilliseconds(1));
                }

                doorbell.Withdraw();
            }

            if (++rounds % 256 == 0)
            {
                if (region.CheckHeader() != RegionHeaderStatus.Valid)
                {
                    headerFaults++;
                }

                if (region.Slots.TryRead((int)(rounds / 256 % region.Layout.SlotCount), out _) is not (SlotReadStatus.Valid or SlotReadStatus.Free))
                {
                    slotFaults++;
                }
            }
        }

        Console.WriteLine($"ok received={received} corrupt={corrupt} header-faults={headerFaults} slot-faults={slotFaults} faults={consumer.Faults.Total} dropped-bytes={consumer.Faults.DroppedBytes} waits={doorbell.Waits} woken={doorbell.WokenWaits} timed-out={doorbell.TimedOutWaits} changed={doorbell.ChangedWaits}");
        return 0;
    }
}
