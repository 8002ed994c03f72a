using System.Text.Json;
using OverlayKvm.Integration.Tests.Agent;
using OverlayKvm.Integration.Tests.Harness;
using Xunit.Abstractions;

namespace OverlayKvm.Integration.Tests.EngineE2e;

/// <summary>
/// Issue 14 item 11 (and the hardening brief's item 3): random bytes written all over a live region — header,
/// control words, slot table, rings — for 10 s while a stream runs. Each agent must come back by itself: detect,
/// detach (its traffic goes sealed meanwhile), register again and re-attach, so that afterwards overlayd holds a
/// slot for both VMs and traffic returns to the rings. (Seen once: one agent stayed deregistered.)
/// </summary>
[Collection(AgentCollection.Name)]
public sealed class EngineRegionScribbleTests(ITestOutputHelper output)
{
    [Fact]
    public async Task RandomBytesAllOverTheRegionFor10s_BothAgentsRegisterAndAttachAgain_TrafficReturnsToTheRings()
    {
        await using var s = await EngineScenario.CreateAsync();
        try
        {
            await s.WarmUpAsync();
            string region = s.WebRegionPath;
            bool scribbled = false;
            var data = TcpTransfer.MakeData(20 << 20);
            var (sent, received) = await TcpTransfer.RunAsync(s.B, EngineScenario.Server, s.A, EngineScenario.Client, data, TimeSpan.FromSeconds(90),
                async total =>
                {
                    if (scribbled || total < 2 << 20)
                    {
                        return;
                    }
                    scribbled = true;
                    int writes = await RegionScribbler.ScribbleAsync(region, TimeSpan.FromSeconds(10));
                    output.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} scribbling stopped after {writes} writes");
                });
            Assert.True(scribbled, "the transfer ended before the region was scribbled over");
            Assert.Equal(Convert.ToHexString(sent), Convert.ToHexString(received));

            // Both VMs hold a slot again and are attached, without anyone restarting anything.
            await EngineScenario.WaitAttachedAsync(s.AgentA);
            await EngineScenario.WaitAttachedAsync(s.AgentB);
            string[] domains = [];
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (DateTime.UtcNow < deadline)
            {
                JsonElement web = await s.WebEngineStatAsync();
                domains = [.. web.GetProperty("slots").EnumerateArray().Select(slot => slot.GetProperty("domain").GetString()!).Order(StringComparer.Ordinal)];
                if (domains.Length == 2)
                {
                    break;
                }
                await Task.Delay(200);
            }
            Assert.Equal(["vmA", "vmB"], domains);

            await s.AssertTrafficReturnsToRingsAsync(TimeSpan.FromSeconds(30), "the scribbling", output);
        }
        catch
        {
            output.WriteLine(s.Logs());
            throw;
        }
    }
}
