using System.Text.Json;
using OverlayKvm.Integration.Tests.Agent;
using OverlayKvm.Integration.Tests.Harness;
using Xunit.Abstractions;

namespace OverlayKvm.Integration.Tests.EngineE2e;

/// <summary>
/// Issue 4, Show 1 and 3, with nothing played by the test: real overlayd owns the region of group web, real agents
/// register their apps over their host channels, map the region and carry the apps' TCP stream through the rings.
/// </summary>
[Collection(AgentCollection.Name)]
public sealed class EnginePathTests(ITestOutputHelper output)
{
    private const int FiftyMegabytes = 50 << 20;

    [Fact]
    public async Task CoLocatedApps_50MegabyteTransfer_GoesThroughTheRings_NothingOnTheUnderlay()
    {
        await using var s = await EngineScenario.CreateAsync();
        string pcap = Path.Combine(s.Work, "underlay.pcap");
        try
        {
            await s.WarmUpAsync();
            long engineOutBefore = EngineScenario.Counter(s.AgentA, "engine", "bytesOut");
            long engineInBefore = EngineScenario.Counter(s.AgentB, "engine", "bytesIn");
            long sealedOutBefore = EngineScenario.Counter(s.AgentA, "sealed", "packetsOut");
            JsonElement web = await s.WebEngineStatAsync();
            // R0.11: each app's address is listed against its VM.
            Assert.Equal(["10.1.0.1"], Addresses(web, "vmA"));
            Assert.Equal(["10.1.0.2"], Addresses(web, "vmB"));
            JsonElement ringBefore = EngineScenario.Ring(web, "vmA", "vmB");

            var data = TcpTransfer.MakeData(FiftyMegabytes);
            List<CapturedFrame> frames;
            byte[] sent, received;
            var clock = System.Diagnostics.Stopwatch.StartNew();
            using (var capture = PacketCapture.Start(s.A, "va", pcap))
            {
                (sent, received) = await TcpTransfer.RunAsync(s.B, EngineScenario.Server, s.A, EngineScenario.Client, data, TimeSpan.FromSeconds(50));
                clock.Stop();
                frames = capture.Stop();
            }
            // A figure for the reader, not an assertion (benchmarks measure speed; bench/ has the comparison).
            output.WriteLine($"50 MB app → TUN → agent → ring → agent → TUN → app in {clock.Elapsed.TotalSeconds:F2} s ({FiftyMegabytes / clock.Elapsed.TotalSeconds / 1e6:F0} MB/s, capture running)");

            Assert.Equal(Convert.ToHexString(sent), Convert.ToHexString(received));

            long engineOut = EngineScenario.Counter(s.AgentA, "engine", "bytesOut") - engineOutBefore;
            long engineIn = EngineScenario.Counter(s.AgentB, "engine", "bytesIn") - engineInBefore;
            long sealedOut = EngineScenario.Counter(s.AgentA, "sealed", "packetsOut") - sealedOutBefore;
            output.WriteLine($"engine bytes out (vmA) {engineOut}, in (vmB) {engineIn}; sealed packets out (vmA) {sealedOut}; underlay frames {frames.Count}");
            output.WriteLine($"vmA engine: {AgentControl.Stat(s.AgentA.ControlSocket)["engine"]!.ToJsonString()}");
            output.WriteLine($"vmB engine: {AgentControl.Stat(s.AgentB.ControlSocket)["engine"]!.ToJsonString()}");
            Assert.True(engineOut >= FiftyMegabytes, $"vmA's engine path carried {engineOut} bytes, less than the {FiftyMegabytes} sent");
            Assert.True(engineIn >= FiftyMegabytes, $"vmB's engine path delivered {engineIn} bytes, less than the {FiftyMegabytes} sent");
            Assert.Equal(0, sealedOut);

            // The daemon's view: the ring vmA → vmB accounts for the stream (its counters are published by the agents).
            JsonElement ringAfter = EngineScenario.Ring(await s.WebEngineStatAsync(), "vmA", "vmB");
            long ringBytes = (long)(ringAfter.GetProperty("bytesWritten").GetUInt64() - ringBefore.GetProperty("bytesWritten").GetUInt64());
            output.WriteLine($"overlayctl engine-stat: ring vmA→vmB +{ringBytes} bytes");
            Assert.True(ringBytes >= FiftyMegabytes, $"engine-stat shows {ringBytes} bytes on ring vmA→vmB, less than {FiftyMegabytes}");

            // The underlay saw none of it: no overlay frame, no byte of the stream.
            Assert.DoesNotContain(frames, f => f.Protocol == 17 && (f.SourcePort == 7480 || f.DestinationPort == 7480));
            Assert.DoesNotContain(frames, f => f.IpPayload.AsSpan().IndexOf(TcpTransfer.Marker) >= 0);
            Assert.True(frames.Count < 50, $"{frames.Count} frames on the underlay during a transfer that should not touch it");
        }
        catch
        {
            output.WriteLine(s.Logs());
            throw;
        }
    }

    [Fact]
    public async Task EngineDisabledMidTransfer_FallsBackToSealed_ThenReturns_StreamIntact()
    {
        await using var s = await EngineScenario.CreateAsync();
        try
        {
            await s.WarmUpAsync();
            long sealedAtDisable = 0, engineAtDisable = 0, sealedAtEnable = 0, engineAtEnable = 0;
            bool disabled = false, enabled = false;
            var data = TcpTransfer.MakeData(FiftyMegabytes);
            // The callback runs on the receiving side between reads, so the stream is genuinely mid-flight.
            var (sent, received) = await TcpTransfer.RunAsync(s.B, EngineScenario.Server, s.A, EngineScenario.Client, data, TimeSpan.FromSeconds(55),
                async total =>
                {
                    if (!disabled && total >= 10 << 20)
                    {
                        disabled = true;
                        await s.Ctl.OkAsync("engine-disable", "web");
                        sealedAtDisable = EngineScenario.Counter(s.AgentA, "sealed", "packetsOut");
                        engineAtDisable = EngineScenario.Counter(s.AgentA, "engine", "packetsOut");
                    }
                    else if (disabled && !enabled && total >= 30 << 20)
                    {
                        enabled = true;
                        sealedAtEnable = EngineScenario.Counter(s.AgentA, "sealed", "packetsOut");
                        engineAtEnable = EngineScenario.Counter(s.AgentA, "engine", "packetsOut");
                        await s.Ctl.OkAsync("engine-enable", "web");
                    }
                });
            Assert.Equal(Convert.ToHexString(sent), Convert.ToHexString(received));
            Assert.True(disabled && enabled, "the transfer ended before both switches happened");

            long engineEnd = EngineScenario.Counter(s.AgentA, "engine", "packetsOut");
            output.WriteLine($"vmA packets out: sealed at disable {sealedAtDisable}, at enable {sealedAtEnable}; engine at disable {engineAtDisable}, at enable {engineAtEnable}, at end {engineEnd}");
            Assert.True(sealedAtEnable - sealedAtDisable > 1000, $"while switched off only {sealedAtEnable - sealedAtDisable} packets took the sealed path");
            Assert.True(engineEnd - engineAtEnable > 1000, $"after switching on only {engineEnd - engineAtEnable} packets returned to the engine");
        }
        catch
        {
            output.WriteLine(s.Logs());
            throw;
        }
    }

    [Fact]
    public async Task OverlaydStoppedMidTransfer_RingsKeepServing_FailStatic()
    {
        await using var s = await EngineScenario.CreateAsync();
        try
        {
            await s.WarmUpAsync();
            long engineAtStop = -1;
            var data = TcpTransfer.MakeData(FiftyMegabytes);
            var (sent, received) = await TcpTransfer.RunAsync(s.B, EngineScenario.Server, s.A, EngineScenario.Client, data, TimeSpan.FromSeconds(55),
                async total =>
                {
                    if (engineAtStop < 0 && total >= 10 << 20)
                    {
                        await s.Daemon.KillAsync();
                        engineAtStop = EngineScenario.Counter(s.AgentA, "engine", "packetsOut");
                    }
                });
            Assert.Equal(Convert.ToHexString(sent), Convert.ToHexString(received));
            Assert.True(engineAtStop >= 0, "the transfer ended before overlayd was stopped");
            long engineEnd = EngineScenario.Counter(s.AgentA, "engine", "packetsOut");
            output.WriteLine($"vmA engine packets out at the daemon's death {engineAtStop}, at the end {engineEnd}");
            Assert.True(engineEnd - engineAtStop > 1000, $"after overlayd died only {engineEnd - engineAtStop} packets used the rings");
        }
        catch
        {
            output.WriteLine(s.Logs());
            throw;
        }
    }

    private static string[] Addresses(JsonElement group, string domain) =>
        group.GetProperty("slots").EnumerateArray().Single(x => x.GetProperty("domain").GetString() == domain)
            .GetProperty("addresses").EnumerateArray().Select(a => a.GetString()!).ToArray();

}
