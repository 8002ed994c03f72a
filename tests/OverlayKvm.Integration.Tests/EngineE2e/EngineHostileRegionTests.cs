using System.Security.Cryptography;
using System.Text.Json.Nodes;
using OverlayKvm.Integration.Tests.Agent;
using OverlayKvm.Integration.Tests.Harness;
using Xunit.Abstractions;

namespace OverlayKvm.Integration.Tests.EngineE2e;

/// <summary>
/// Issue 4, Show 5 from the agents' side: random bytes written over the region's header while a stream runs on
/// the engine path. The agents detect it (header check), detach and carry the stream on the sealed path; overlayd
/// repairs the header; the agents attach again and traffic returns to the rings. Nobody crashes.
/// </summary>
[Collection(AgentCollection.Name)]
public sealed class EngineHostileRegionTests(ITestOutputHelper output)
{
    [Fact]
    public async Task HeaderOverwrittenMidTransfer_AgentsFallBack_StreamCompletes_ThenReattach()
    {
        await using var s = await EngineScenario.CreateAsync();
        try
        {
            await s.WarmUpAsync();
            string region = s.WebRegionPath;
            long sealedAtScribble = -1;
            var data = TcpTransfer.MakeData(30 << 20);
            var (sent, received) = await TcpTransfer.RunAsync(s.B, EngineScenario.Server, s.A, EngineScenario.Client, data, TimeSpan.FromSeconds(55),
                async total =>
                {
                    if (sealedAtScribble < 0 && total >= 5 << 20)
                    {
                        sealedAtScribble = EngineScenario.Counter(s.AgentA, "sealed", "packetsOut");
                        // A hostile writer keeps destroying the header (overlayd repairs it every second) until
                        // both agents have noticed and detached.
                        var until = DateTime.UtcNow + TimeSpan.FromSeconds(10);
                        while ((Attached(s.AgentA) || Attached(s.AgentB)) && DateTime.UtcNow < until)
                        {
                            await using (var f = new FileStream(region, FileMode.Open, FileAccess.Write))
                            {
                                await f.WriteAsync(RandomNumberGenerator.GetBytes(64));
                            }
                            await Task.Delay(50);
                        }
                        output.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} agents detached: A {!Attached(s.AgentA)}, B {!Attached(s.AgentB)}");
                    }
                });
            Assert.Equal(Convert.ToHexString(sent), Convert.ToHexString(received));
            Assert.True(sealedAtScribble >= 0, "the transfer ended before the header was overwritten");
            long sealedAfter = EngineScenario.Counter(s.AgentA, "sealed", "packetsOut") - sealedAtScribble;
            output.WriteLine($"vmA sealed packets after the header was overwritten: {sealedAfter}");
            Assert.True(sealedAfter > 0, "no packet fell back to the sealed path after the region header was destroyed");
            Assert.Contains("no longer valid", s.AgentA.Log, StringComparison.Ordinal);

            // overlayd repairs the header; the agents attach again and a new stream uses the rings.
            await EngineScenario.WaitAttachedAsync(s.AgentA);
            await EngineScenario.WaitAttachedAsync(s.AgentB);
            await s.AssertTrafficReturnsToRingsAsync(TimeSpan.FromSeconds(20), "the repair", output);
            Assert.True((await s.Ctl.JsonAsync("engine-stat")).GetProperty("counters").GetProperty("headerRepairs").GetInt64() >= 1);
        }
        catch
        {
            output.WriteLine(s.Logs());
            throw;
        }
    }

    private static bool Attached(AgentProcess agent) =>
        AgentControl.Stat(agent.ControlSocket)["engine"]?["attached"] is JsonArray a && a.Count > 0;
}
