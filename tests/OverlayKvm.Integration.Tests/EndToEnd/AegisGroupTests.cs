using OverlayKvm.Core.Crypto;
using OverlayKvm.Integration.Tests.Agent;
using OverlayKvm.Integration.Tests.Harness;
using Xunit.Abstractions;

namespace OverlayKvm.Integration.Tests.EndToEnd;

/// <summary>
/// Issue 16: a group defined with `--cipher aegis-256` carries a TCP transfer over the sealed path between two
/// namespaces. The cipher reaches group-info and the agents' documents (format 3), every frame on the wire says
/// AEGIS-256 (cipher byte 1) and carries no plaintext, the adapter MTU leaves room for the 32-byte tag, and the data
/// arrives with the same SHA-256.
/// </summary>
[Collection(AgentCollection.Name)]
public sealed class AegisGroupTests(ITestOutputHelper output)
{
    [Fact]
    public async Task AegisGroup_TransferArrivesIdentical_FramesSayAegis_MtuAllowsTheTag()
    {
        Prerequisites.RequireRootAndTools("tcpdump");
        Assert.True(System.Runtime.Intrinsics.X86.Aes.IsSupported, "prerequisite missing: this CPU has no AES-NI, which AEGIS-256 groups need");
        await using var s = await WebGroupScenario.CreateAsync("aega", "aegb", "10.93.0", [("server", "10.1.0.2")], groupOptions: ["--cipher", "aegis-256"]);
        var apps = new List<AppProcess>();
        try
        {
            Assert.Equal("aegis-256", (await s.Ctl.JsonAsync("group-info", "web")).GetProperty("cipher").GetString());
            var document = await s.Ctl.JsonAsync("domain-config", "vmA");
            Assert.Equal(3, document.GetProperty("formatVersion").GetInt32());
            Assert.Equal("aegis-256", document.GetProperty("groups")[0].GetProperty("cipher").GetString());
            await OverlaydDrivesAgentsTests.WaitApplied(s.Ctl, document.GetProperty("version").GetInt64(), "configuration with an AEGIS-256 group");

            apps.Add(s.StartApp(s.AgentA, "client", WebGroupScenario.Client));
            apps.Add(s.StartApp(s.AgentB, "server", "10.1.0.2"));
            string device = "ovk" + OverlayIds.GroupId("web").ToString("x8");
            string mtu = s.A.Exec("cat", $"/sys/class/net/{device}/mtu").Out.Trim();
            Assert.Equal("1408", mtu); // 1500 - 20 (IPv4) - 8 (UDP) - 32 (header) - 32 (AEGIS-256 tag)

            // The agents send runs of frames as one UDP GSO message; a capture on the veth would see each run as one
            // large datagram. One segment per skb makes the veth split them before the capture point, so every frame's
            // cipher byte and size is seen as a link without UDP segmentation offload would carry it.
            foreach (var (ns, dev) in new[] { (s.A, "va"), (s.B, "vb") })
                Assert.Equal(0, ns.Exec("ip", "link", "set", "dev", dev, "gso_max_segs", "1").Code);
            var data = TcpTransfer.MakeData(16 << 20);
            using var capture = PacketCapture.Start(s.A, "va", Path.Combine(s.Work, "aegis.pcap"));
            var (sent, received) = await TcpTransfer.RunAsync(s.B, "10.1.0.2", s.A, WebGroupScenario.Client, data, TimeSpan.FromSeconds(90));
            var frames = capture.Stop();
            Assert.Equal(Convert.ToHexString(sent), Convert.ToHexString(received));

            var sealedFrames = frames.Where(f => f.DestinationPort == 7480 && f.UdpPayload.Length > 64).ToList();
            int aegis = sealedFrames.Count(f => f.UdpPayload[2] == 1);
            int markers = sealedFrames.Count(f => f.UdpPayload.AsSpan().IndexOf(TcpTransfer.Marker) >= 0);
            int largest = sealedFrames.Count == 0 ? 0 : sealedFrames.Max(f => f.UdpPayload.Length);
            output.WriteLine($"{sealedFrames.Count} sealed frames, {aegis} of them AEGIS-256, largest payload {largest} B, {markers} with the plaintext marker");
            Assert.True(sealedFrames.Count > 1000, $"expected the transfer on the wire, saw {sealedFrames.Count} frames");
            Assert.Equal(sealedFrames.Count, aegis);
            Assert.Equal(0, markers);
            foreach (var agent in new[] { s.AgentA, s.AgentB })
                foreach (var reason in new[] { "malformed", "auth", "replay", "spoof", "no-key", "cipher" })
                    Assert.True(AgentControl.Drop(agent.ControlSocket, reason) == 0, $"{agent.Domain} dropped packets as {reason}: {AgentControl.Stat(agent.ControlSocket)}");
        }
        catch
        {
            foreach (var app in apps) output.WriteLine($"--- app {app.App}: {(app.HasExited ? "exited: " + app.Output() : "running")}");
            output.WriteLine(s.Logs());
            throw;
        }
    }
}
