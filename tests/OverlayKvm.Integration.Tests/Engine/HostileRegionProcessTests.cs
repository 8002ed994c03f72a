using OverlayKvm.Core.SharedMemory;
using Xunit.Abstractions;

namespace OverlayKvm.Integration.Tests.Engine;

/// <summary>
/// Issue 4, Show 5 with three processes: a scribbler writes random bytes over the header, slot table and one ring
/// while a producer and a consumer keep using that ring. Both ends must survive (exit 0), detect and count, and
/// records must keep flowing between corruptions.
/// </summary>
[Collection(EngineProcessCollection.Name)]
public sealed class HostileRegionProcessTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _region = $"/dev/shm/okvm-hostile-{Guid.NewGuid():N}";

    [Fact]
    public async Task Scribbler_AgainstRunningProducerAndConsumer_IsDetectedAndCounted_NoProcessCrashes()
    {
        using (SharedMemoryMapping mapping = SharedMemoryMapping.CreateOrOpen(_region, 1 << 20, UnixFileMode.UserRead | UnixFileMode.UserWrite, owner: null))
        using (EngineRegion.Initialize(mapping, "hostile", slotCount: 2, generation: 1))
        {
        }

        using StressProcess consumer = StressProcess.Start("hostile-consume", "--region", _region, "--seconds", "5");
        using StressProcess producer = StressProcess.Start("hostile-produce", "--region", _region, "--seconds", "5");
        await Task.Delay(500);
        using StressProcess scribbler = StressProcess.Start("scribble", "--region", _region, "--seconds", "3", "--seed", "17");

        int scribblerExit = await scribbler.WaitForExitAsync(TimeSpan.FromSeconds(30));
        int producerExit = await producer.WaitForExitAsync(TimeSpan.FromSeconds(30));
        int consumerExit = await consumer.WaitForExitAsync(TimeSpan.FromSeconds(30));
        foreach ((string who, StressProcess p) in new[] { ("scribbler", scribbler), ("producer", producer), ("consumer", consumer) })
        {
            foreach (string line in p.Lines)
            {
                output.WriteLine($"{who}: {line}");
            }
        }

        Assert.Equal(0, scribblerExit);
        Assert.Equal(0, producerExit);
        Assert.Equal(0, consumerExit);
        var c = consumer.OkResult();
        Assert.True(long.Parse(c["corrupt"]) > 0, "ring damage must be detected and counted");
        Assert.True(long.Parse(c["header-faults"]) > 0, "header damage must be detected");
        Assert.True(long.Parse(c["received"]) > 1000, "records must keep flowing between corruptions");
        Assert.True(long.Parse(c["faults"]) >= long.Parse(c["corrupt"]), "every corrupt result is a counted fault");
    }

    public void Dispose() => File.Delete(_region);
}
