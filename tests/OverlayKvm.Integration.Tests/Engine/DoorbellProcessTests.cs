using OverlayKvm.Core.SharedMemory;
using Xunit.Abstractions;

namespace OverlayKvm.Integration.Tests.Engine;

/// <summary>
/// The ring doorbell across processes (layout version 2): a receiver in another process, asleep on its slot's
/// doorbell with a 10 s bound, is woken by this process's send at once (it reports the wait as Woken, not TimedOut).
/// </summary>
[Collection(EngineProcessCollection.Name)]
public sealed class DoorbellProcessTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _region = $"/dev/shm/okvm-doorbell-{Guid.NewGuid():N}";

    [Fact]
    public async Task ReceiverAsleepInAnotherProcess_IsWokenBySend_NotByTimeout()
    {
        using SharedMemoryMapping mapping = SharedMemoryMapping.CreateOrOpen(_region, 1 << 20, UnixFileMode.UserRead | UnixFileMode.UserWrite, owner: null);
        using EngineRegion region = EngineRegion.Initialize(mapping, "doorbell", slotCount: 2, generation: 1);
        using var sender = new EngineEndpoint(region, 0);
        using EngineDoorbell probe = region.OpenDoorbell(1);

        using StressProcess receiver = StressProcess.Start("doorbell-wait", "--region", _region, "--slot", "1", "--limit-ms", "10000");
        Assert.NotNull(await receiver.WaitForLineAsync(l => l == "sleeping", TimeSpan.FromSeconds(30)));
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (probe.Peek() != EngineDoorbell.Sleeping)
        {
            Assert.True(DateTime.UtcNow < deadline, $"receiver never announced its sleep: {string.Join('\n', receiver.Lines)}");
            await Task.Delay(5);
        }

        await Task.Delay(200); // from announce to FUTEX_WAIT
        Assert.Equal(EngineSendResult.Sent, sender.TrySend(1, new byte[321]));

        int exit = await receiver.WaitForExitAsync(TimeSpan.FromSeconds(30));
        foreach (string line in receiver.Lines)
        {
            output.WriteLine(line);
        }

        Assert.Equal(0, exit);
        var result = receiver.OkResult();
        Assert.Equal("Woken", result["first-wait"]);
        Assert.Equal("1", result["waits"]);
        Assert.Equal("321", result["length"]);
        Assert.Equal(1, sender.WakesSent);
    }

    public void Dispose() => File.Delete(_region);
}
