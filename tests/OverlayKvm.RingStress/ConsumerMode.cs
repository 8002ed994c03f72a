using System.Buffers.Binary;
using System.Diagnostics;
using OverlayKvm.Core.SharedMemory;

namespace OverlayKvm.RingStress;

/// <summary>
/// Reads one ring and checks every message against the plan: sequence number, size and every content byte.
/// With <c>--progress FILE</c> it records how many messages it verified (a u64 in a small shared file, written
/// after verifying each message and before committing it to the ring) so that a consumer killed with SIGKILL can
/// be restarted with <c>--resume</c>: it re-attaches at the ring's committed head and checks that the first message
/// it gets is the next one it had not verified, or the last one it verified if the kill fell between recording and
/// committing (at-least-once: that message is checked again, nothing is lost).
/// </summary>
internal static class ConsumerMode
{
    public static int Run(StressArguments args)
    {
        long count = args.Number("count");
        int max = (int)args.Number("max", 9000);
        var plan = new MessagePlan((ulong)args.Number("seed"), (int)args.Number("min", 1), max);
        long progressEvery = args.Number("progress-every", 0);
        TimeSpan stallLimit = TimeSpan.FromSeconds(args.Number("stall-seconds", 30));
        using EngineRegion region = RegionAccess.Attach(args.Text("region"));
        using RingConsumer consumer = region.OpenConsumer((int)args.Number("from", 0), (int)args.Number("to", 1));
        using SharedMemoryMapping? progress = args.OptionalText("progress") is { } path
            ? SharedMemoryMapping.CreateOrOpen(path, 4096, UnixFileMode.UserRead | UnixFileMode.UserWrite, owner: null)
            : null;

        long next = 0;
        string resumeNote = "none";
        byte[] buffer = new byte[max];
        var clock = Stopwatch.StartNew();
        long lastProgress = clock.ElapsedTicks;
        long bytes = 0;
        var backoff = new AdaptiveBackoff();
        bool first = true;
        while (next < count)
        {
            RingReadResult result = consumer.TryRead(buffer, out int length, commit: false);
            if (result == RingReadResult.Empty)
            {
                if (Stopwatch.GetElapsedTime(lastProgress, clock.ElapsedTicks) > stallLimit)
                {
                    Console.WriteLine($"FAIL consume stalled: no message for {stallLimit.TotalSeconds} s after {next}");
                    return 3;
                }

                backoff.Idle();
                continue;
            }

            if (result != RingReadResult.Message)
            {
                Console.WriteLine($"FAIL consume at expected seq={next}: {result} (needed {length}) faults={consumer.Faults.Total}");
                return 2;
            }

            backoff.Reset();
            lastProgress = clock.ElapsedTicks;
            ReadOnlySpan<byte> message = buffer.AsSpan(0, length);
            if (first && args.Flag("resume"))
            {
                long verified = progress is null ? 0 : ReadProgress(progress);
                if (length < 8)
                {
                    Console.WriteLine($"FAIL resume: first message after restart has {length} bytes, cannot carry a sequence");
                    return 2;
                }

                long got = MessagePlan.ReadSequence(message);
                if (got != verified && got != verified - 1)
                {
                    Console.WriteLine($"FAIL resume: verified {verified} before the kill, first message after restart is seq {got}");
                    return 2;
                }

                resumeNote = got == verified ? $"exact@{verified}" : $"redelivered@{got}";
                for (; next < got; next++)
                {
                    plan.NextMessage();
                }
            }

            first = false;
            (int size, int offset) = plan.NextMessage();
            if (length != size || !Matches(plan, next, offset, message))
            {
                long stamped = length >= 8 ? MessagePlan.ReadSequence(message) : -1;
                Console.WriteLine($"FAIL consume: expected seq={next} size={size}, got size={length} stamped-seq={stamped}");
                return 2;
            }

            next++;
            bytes += length;
            if (progress is not null)
            {
                WriteProgress(progress, next);
            }

            consumer.Commit();

            if (progressEvery > 0 && next % progressEvery == 0)
            {
                Console.WriteLine($"progress {next}");
            }
        }

        Console.WriteLine($"ok received={next} bytes={bytes} wraps={consumer.Wraps} faults={consumer.Faults.Total} resume={resumeNote} seconds={clock.Elapsed.TotalSeconds:F2}");
        return 0;
    }

    private static bool Matches(MessagePlan plan, long sequence, int offset, ReadOnlySpan<byte> message)
    {
        Span<byte> seq = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(seq, sequence);
        int stamped = Math.Min(8, message.Length);
        return message[..stamped].SequenceEqual(seq[..stamped]) &&
               message[stamped..].SequenceEqual(plan.Body(offset, message.Length)[stamped..]);
    }

    private static long ReadProgress(SharedMemoryMapping progress) =>
        Volatile.Read(ref System.Runtime.InteropServices.MemoryMarshal.AsRef<long>(progress.GetSpan(0, 8)));

    private static void WriteProgress(SharedMemoryMapping progress, long verified) =>
        Volatile.Write(ref System.Runtime.InteropServices.MemoryMarshal.AsRef<long>(progress.GetSpan(0, 8)), verified);
}
