using OverlayKvm.Core.SharedMemory;
using Xunit.Abstractions;

namespace OverlayKvm.Integration.Tests.Engine;

/// <summary>
/// Issue 4, Show 4: one engine ring hammered by two real processes (overlay-ring-stress), with the consumer
/// verifying sequence, size and every byte of every message against the seeded plan.
/// </summary>
[Collection(EngineProcessCollection.Name)]
public sealed class RingStressTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _region = $"/dev/shm/okvm-ringstress-{Guid.NewGuid():N}";
    private readonly string _progress = $"/dev/shm/okvm-ringstress-progress-{Guid.NewGuid():N}";

    [Fact]
    public async Task TwoProcesses_TenMillionRandomSizedMessages_ArriveComplete_InOrder_Uncorrupted()
    {
        CreateRegion();
        const long count = 10_000_000;
        string[] common = Common(count, seed: 4242);
        using StressProcess consumer = StressProcess.Start(["consume", .. common]);
        using StressProcess producer = StressProcess.Start(["produce", .. common]);

        int producerExit = await producer.WaitForExitAsync(TimeSpan.FromSeconds(90));
        int consumerExit = await consumer.WaitForExitAsync(TimeSpan.FromSeconds(30));
        Narrate("producer", producer);
        Narrate("consumer", consumer);

        Assert.Equal(0, producerExit);
        Assert.Equal(0, consumerExit);
        var sent = producer.OkResult();
        var received = consumer.OkResult();
        Assert.Equal(count.ToString(), received["received"]);
        Assert.Equal(sent["bytes"], received["bytes"]);
        Assert.Equal("0", received["faults"]);
        Assert.True(long.Parse(received["wraps"]) > 1000, $"wrap-around must be exercised many times, saw {received["wraps"]}");
    }

    [Fact]
    public async Task ConsumerKilledMidStream_RestartedConsumer_ContinuesFromCommittedHead_RingStillUsable()
    {
        CreateRegion();
        const long count = 2_000_000;
        string[] common = Common(count, seed: 99);
        using StressProcess producer = StressProcess.Start(["produce", .. common]);
        using StressProcess first = StressProcess.Start(["consume", .. common, "--progress", _progress, "--progress-every", "100000"]);

        string? progressLine = await first.WaitForLineAsync(l => l == "progress 300000", TimeSpan.FromSeconds(30));
        Assert.True(progressLine is not null, $"consumer never reported progress 300000: {string.Join(" | ", first.Lines)}");
        first.KillHard();
        output.WriteLine($"consumer pid {first.Pid} killed with SIGKILL after: {first.Lines.Last()}");
        Assert.False(producer.HasExited, "the producer must still be mid-stream when the consumer dies");
        Assert.DoesNotContain(first.Lines, l => l.StartsWith("ok ", StringComparison.Ordinal));

        using StressProcess second = StressProcess.Start(["consume", .. common, "--progress", _progress, "--resume"]);
        int secondExit = await second.WaitForExitAsync(TimeSpan.FromSeconds(60));
        int producerExit = await producer.WaitForExitAsync(TimeSpan.FromSeconds(10));
        Narrate("producer", producer);
        Narrate("restarted consumer", second);

        Assert.Equal(0, producerExit);
        Assert.Equal(0, secondExit);
        var received = second.OkResult();
        Assert.Equal(count.ToString(), received["received"]);
        Assert.Matches("^(exact|redelivered)@[0-9]+$", received["resume"]);
        long resumedAt = long.Parse(received["resume"].Split('@')[1]);
        Assert.True(resumedAt >= 300_000 && resumedAt < count, $"resume point {resumedAt} must lie after the observed progress");
    }

    /// <summary>What producer and consumer must agree on: the region, how many messages, the sizes' seed and range (1-9000 bytes).</summary>
    private string[] Common(long count, int seed) =>
        ["--region", _region, "--count", count.ToString(), "--seed", seed.ToString(), "--min", "1", "--max", "9000"];

    public void Dispose()
    {
        File.Delete(_region);
        File.Delete(_progress);
    }

    private void CreateRegion()
    {
        using SharedMemoryMapping mapping = SharedMemoryMapping.CreateOrOpen(_region, 4 << 20, UnixFileMode.UserRead | UnixFileMode.UserWrite, owner: null);
        using EngineRegion region = EngineRegion.Initialize(mapping, "stress", slotCount: 2, generation: 1);
        output.WriteLine($"region {_region}: ring capacity {region.Layout.RingCapacity} bytes, max payload {region.Layout.MaxRecordPayload}");
    }

    private void Narrate(string who, StressProcess process)
    {
        foreach (string line in process.Lines)
        {
            if (!line.StartsWith("progress ", StringComparison.Ordinal))
            {
                output.WriteLine($"{who}: {line}");
            }
        }
    }
}
