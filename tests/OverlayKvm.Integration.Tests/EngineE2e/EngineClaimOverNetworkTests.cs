using OverlayKvm.Integration.Tests.Agent;
using OverlayKvm.Integration.Tests.Harness;
using Xunit.Abstractions;

namespace OverlayKvm.Integration.Tests.EngineE2e;

/// <summary>
/// R0.15 on a real agent: a network frame that claims the engine path (the sealed header's type byte set to the
/// engine value) is dropped and counted as `engine-claim`, never opened or delivered, and the stream it was taken
/// from recovers. The relay between the two "VMs" plays the attacker.
/// </summary>
[Collection(AgentCollection.Name)]
public sealed class EngineClaimOverNetworkTests(ITestOutputHelper output)
{
    [Fact]
    public async Task GenuineFramesRelabelledAsEngine_DroppedAsEngineClaim_StreamRecovers()
    {
        await using var t = await TwoVmTopology.CreateAsync(viaRelay: true);
        t.StartClientAndServer();
        string b = t.AgentB.ControlSocket;
        long claimsBefore = AgentControl.Drop(b, "engine-claim");
        long relabelled = 0;
        t.Relay!.TamperToB = (index, frame, length) =>
        {
            // Every 100th frame: keep it byte for byte, but say it came through the engine.
            if (index % 100 == 50 && length > 24)
            {
                frame[1] = 2;
                Interlocked.Increment(ref relabelled);
            }
        };
        var (sent, received) = await TcpTransfer.RunAsync(t.B, TwoVmTopology.ServerAddress, t.A, TwoVmTopology.ClientAddress,
            TcpTransfer.MakeData(4 << 20), TimeSpan.FromSeconds(45));
        t.Relay.TamperToB = null;
        Assert.Equal(Convert.ToHexString(sent), Convert.ToHexString(received));

        await AgentControl.SettledPacketsInAsync(b, "web");
        long claims = AgentControl.Drop(b, "engine-claim") - claimsBefore;
        output.WriteLine($"relabelled {Interlocked.Read(ref relabelled)} frames, vmB counted {claims} engine-claim drops");
        Assert.True(Interlocked.Read(ref relabelled) > 10, $"the relay relabelled only {relabelled} frames");
        Assert.Equal(Interlocked.Read(ref relabelled), claims);
        Assert.Equal(0, AgentControl.Drop(b, "auth"));
        Assert.Equal(0, AgentControl.Counter(b, "web", "engine", "packetsIn"));
    }
}
