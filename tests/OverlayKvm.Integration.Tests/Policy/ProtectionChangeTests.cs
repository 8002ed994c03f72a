using System.Text;
using OverlayKvm.Integration.Tests.Agent;
using OverlayKvm.Integration.Tests.Harness;
using Xunit.Abstractions;

namespace OverlayKvm.Integration.Tests.Policy;

/// <summary>
/// R0.4 with the protection level: `overlayctl group-protect G3 authenticated` in the middle of a TCP stream
/// from B (G2) to D (G3) changes only configuration: the stream survives, nothing is dropped, and the frames to
/// G3 turn from sealed (type 1, no plaintext visible) into authenticated-in-clear (type 4, the packet readable,
/// tag-protected).
/// </summary>
[Collection(AgentCollection.Name)]
public sealed class ProtectionChangeTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ProtectionChangedMidStream_StreamSurvives_WireFollowsTheLevel()
    {
        await using var s = await TwoGroupScenario.CreateAsync(["G3", "--from", "G2", "--proto", "tcp"]);
        try
        {
            var data = TcpTransfer.MakeData(24 << 20);
            bool switched = false;
            using var capture = PacketCapture.Start(s.A, "va", Path.Combine(s.Work, "protect.pcap"));
            var (sent, received) = await TcpTransfer.RunAsync(s.B, TwoGroupScenario.AppD, s.A, TwoGroupScenario.AppB, data, TimeSpan.FromSeconds(90), async bytes =>
            {
                if (!switched && bytes >= 4 << 20)
                {
                    switched = true;
                    await s.Ctl.OkAsync("group-protect", "G3", "authenticated");
                }
            });
            var frames = capture.Stop();
            Assert.True(switched, "the transfer ended before the switch");
            Assert.Equal(Convert.ToHexString(sent), Convert.ToHexString(received));

            // Frames B -> D (to G3): sealed (type 1) before the switch, authenticated in clear (type 4) after it.
            var toD = frames.Where(f => f.DestinationPort == 7480 && f.Destination == "10.96.0.2" && f.UdpPayload.Length > 100).ToList();
            int sealedFrames = toD.Count(f => f.UdpPayload[1] == 1);
            int clearFrames = toD.Count(f => f.UdpPayload[1] == 4);
            int markersInClear = toD.Count(f => f.UdpPayload[1] == 4 && f.UdpPayload.AsSpan().IndexOf(TcpTransfer.Marker) >= 0);
            int markersSealed = toD.Count(f => f.UdpPayload[1] == 1 && f.UdpPayload.AsSpan().IndexOf(TcpTransfer.Marker) >= 0);
            output.WriteLine($"frames to D: {sealedFrames} sealed, {clearFrames} authenticated-in-clear ({markersInClear} with the plaintext marker; sealed ones with it: {markersSealed})");
            Assert.True(sealedFrames > 0 && clearFrames > 0, "both levels must appear on the wire");
            Assert.True(markersInClear > 0, "authenticated frames must carry the packet in clear");
            Assert.Equal(0, markersSealed);
            foreach (var agent in new[] { s.AgentA, s.AgentB })
                foreach (var reason in new[] { "malformed", "auth", "spoof", "no-key" })
                    Assert.True(AgentControl.Drop(agent.ControlSocket, reason) == 0, $"{agent.Domain} dropped as {reason}: {AgentControl.Stat(agent.ControlSocket)}");
        }
        catch
        {
            output.WriteLine(s.Logs());
            throw;
        }
    }
}
