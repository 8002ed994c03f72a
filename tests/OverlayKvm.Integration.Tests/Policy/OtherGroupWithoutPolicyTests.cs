using System.Text.Json;
using OverlayKvm.Core.Crypto;
using OverlayKvm.Core.Wire;
using OverlayKvm.Integration.Tests.Agent;
using OverlayKvm.Integration.Tests.Harness;
using Xunit.Abstractions;

namespace OverlayKvm.Integration.Tests.Policy;

/// <summary>
/// Issue 4, Show 2 at packet level (with issue 7's enforcement): a VM of another group on the same host, with the
/// engine on, gets no region of the group and no route to it; its traffic to the group goes nowhere — not over
/// the engine, not over the network, not even as a frame forged with its own valid key — until a policy opens it.
/// </summary>
[Collection(AgentCollection.Name)]
public sealed class OtherGroupWithoutPolicyTests(ITestOutputHelper output)
{
    [Fact]
    public async Task AnotherGroupsVm_TrafficGoesNowhere_UntilAPolicyOpensIt()
    {
        await using var s = await TwoGroupScenario.CreateAsync(30_000, engine: true);
        try
        {
            using var web = TcpExchange.Listen(s.B, TwoGroupScenario.AppD, 80);
            long noRoute = AgentControl.Drop(s.AgentA.ControlSocket, "no-route");
            using (var capture = PacketCapture.Start(s.A, "va", Path.Combine(s.Work, "other.pcap")))
            {
                Assert.Null(await TcpExchange.GetAsync(s.A, TwoGroupScenario.AppB, TwoGroupScenario.AppD, 80, TimeSpan.FromSeconds(3)));
                var frames = capture.Stop();
                Assert.DoesNotContain(frames, f => f.DestinationPort == 7480);
            }
            // No policy relates G2 to G3: vmA's document has no route into G3's space, so the VM's kernel has none either.
            var route = s.A.Exec("ip", "route", "get", TwoGroupScenario.AppD, "from", TwoGroupScenario.AppB);
            output.WriteLine($"ip route get {TwoGroupScenario.AppD} from {TwoGroupScenario.AppB}: exit {route.Code} {route.Out.Trim()} {route.Err.Trim()}");
            Assert.DoesNotContain("ovk", route.Out);
            Assert.Equal(noRoute, AgentControl.Drop(s.AgentA.ControlSocket, "no-route"));
            Assert.Equal(0, AgentControl.Counter(s.AgentB.ControlSocket, "G3", "engine", "packetsIn") + AgentControl.Counter(s.AgentB.ControlSocket, "G3", "sealed", "packetsIn"));

            // vmA holds only its own groups' keys: a frame it forges "as G3" with G2's key is refused as spoofed.
            var doc = await s.Ctl.JsonAsync("domain-config", "vmA", "--show-secrets");
            Assert.Empty(doc.GetProperty("neighbors").EnumerateArray());
            var g2 = doc.GetProperty("groups").EnumerateArray().Single();
            byte[] key = Convert.FromBase64String(g2.GetProperty("credentials").EnumerateArray().Last().GetProperty("key").GetString()!);
            byte[] frame = FrameForge.Seal(key, "G2", 1, "vmA", FrameForge.FreshCounter(), FrameForge.UdpPacket(TwoGroupScenario.AppB, TwoGroupScenario.AppD));
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(4), OverlayIds.GroupId("G3"));
            long spoof = AgentControl.Drop(s.AgentB.ControlSocket, "spoof");
            using (var udp = s.A.OpenSocket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp))
            {
                udp.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Parse("10.96.0.1"), 0));
                udp.SendTo(frame, new System.Net.IPEndPoint(System.Net.IPAddress.Parse("10.96.0.2"), 7480));
            }
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
            while (AgentControl.Drop(s.AgentB.ControlSocket, "spoof") == spoof && DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }
            Assert.Equal(spoof + 1, AgentControl.Drop(s.AgentB.ControlSocket, "spoof"));

            // The engine never gave vmA a slot in G3's region.
            JsonElement engine = await s.Ctl.JsonAsync("engine-stat");
            output.WriteLine(engine.GetRawText());
            var g3 = engine.GetProperty("groups").EnumerateArray().Single(g => g.GetProperty("group").GetString() == "G3");
            Assert.Equal(["vmB"], g3.GetProperty("slots").EnumerateArray().Select(slot => slot.GetProperty("domain").GetString()!).ToArray());

            // Not a broken path: a policy opens it.
            await s.Ctl.OkAsync("policy-add", "G3", "--from", "G2", "--proto", "tcp", "--port", "80");
            await s.WaitConfiguredAsync();
            Assert.NotNull(await TcpExchange.GetAsync(s.A, TwoGroupScenario.AppB, TwoGroupScenario.AppD, 80, TimeSpan.FromSeconds(10)));
            Assert.Equal(1, web.Served);
        }
        catch
        {
            output.WriteLine(s.Logs());
            throw;
        }
    }
}
