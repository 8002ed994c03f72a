using System.Net;
using System.Net.Sockets;
using OverlayKvm.Integration.Tests.Agent;
using OverlayKvm.Integration.Tests.Daemon;
using OverlayKvm.Integration.Tests.Harness;
using Xunit.Abstractions;

namespace OverlayKvm.Integration.Tests.EndToEnd;

/// <summary>
/// Seed 002 R12–R14 with nothing played by the test: overlayd configured with a trusted segment decides every route
/// (one classifier for route-explain and the documents), three real agents execute them. On the wire the trusted pair
/// carries the inner packets in clear, the untrusted pair only sealed frames; route-explain and the agents' counters
/// agree for both classes; a clear frame forged from outside the segment is dropped and counted.
/// One overlayd serves the agents of its own host only, so the three VMs are on one host and the client is in another
/// group than the servers (web → api, allowed by a policy): the engine is per group, so the pairs take their network
/// class, exactly as between hosts.
/// </summary>
[Collection(AgentCollection.Name)]
public sealed class TrustedSegmentTests(ITestOutputHelper output)
{
    private const string Segment = "10.97.1.0/24";

    [Fact]
    public async Task TrustedPairInClear_UntrustedPairSealed_RouteExplainAndCountersAgree_ForgedClearFrameDropped()
    {
        Prerequisites.RequireRootAndTools("ip", "tcpdump");
        await using var daemon = new DaemonProcess();
        var work = Directory.CreateTempSubdirectory("okvm-trust-").FullName;
        var config = Path.Combine(work, "overlayd.json");
        await File.WriteAllTextAsync(config, "{\"Directory\": {\"TrustedSegments\": [\"" + Segment + "\"]}}");
        daemon.ExtraArguments = ["--config", config];
        // One L2 segment (a bridge in its own namespace); the trusted CIDR covers vmA and vmB only, vmC is outside it.
        using var sw = NetNamespace.Create("pmsw");
        using var a = NetNamespace.Create("pma");
        using var b = NetNamespace.Create("pmb");
        using var c = NetNamespace.Create("pmc");
        (NetNamespace Ns, string Domain, string Address)[] vms = [(a, "vmA", "10.97.1.1"), (b, "vmB", "10.97.1.2"), (c, "vmC", "10.97.2.3")];
        var agents = new List<AgentProcess>();
        var apps = new List<AppProcess>();
        PacketCapture? capture = null;
        try
        {
            NetTopology.Bridge(sw, "br0");
            foreach (var (ns, domain, address) in vms)
            {
                NetTopology.Attach(sw, "br0", "p" + domain, ns, "eth0", address, prefix: 16);
            }

            await daemon.StartAsync();
            var ctl = new Overlayctl(daemon.Socket);
            await ctl.OkAsync("group-define", "web", "--cidr", "10.1.0.0/16");
            await ctl.OkAsync("group-define", "api", "--cidr", "10.2.0.0/16");
            foreach (var (_, domain, address) in vms)
                await ctl.OkAsync("domain-define", domain, "--address", address);
            await ctl.OkAsync("app-define", "web", "client", "--domain", "vmA", "--address", "10.1.0.1");
            await ctl.OkAsync("app-define", "api", "near", "--domain", "vmB", "--address", "10.2.0.2");
            await ctl.OkAsync("app-define", "api", "far", "--domain", "vmC", "--address", "10.2.0.3");
            await ctl.OkAsync("policy-add", "api", "--from", "web", "--proto", "tcp");

            foreach (var (ns, domain, _) in vms)
            {
                var agent = new AgentProcess(ns, Path.Combine(work, domain), domain);
                agents.Add(agent);
                agent.Start();
                File.CreateSymbolicLink(Path.Combine(daemon.ChannelDir, domain + ".agent.sock"), agent.ChannelSocket);
            }
            var version = (await ctl.JsonAsync("domain-config", "vmA")).GetProperty("version").GetInt64();
            await OverlaydDrivesAgentsTests.WaitApplied(ctl, version, "initial configuration", agents: 3);

            // The documents carry the directory's routes.
            var members = (await ctl.JsonAsync("domain-config", "vmA")).GetProperty("neighbors")[0].GetProperty("members").EnumerateArray()
                .ToDictionary(m => m.GetProperty("name").GetString()!, m => (Path: m.GetProperty("path").GetString(), Actions: Strings(m.GetProperty("actions"))));
            Assert.Equal("trusted-segment", members["near"].Path);
            Assert.Equal(["encapsulate"], members["near"].Actions);
            Assert.Equal("untrusted", members["far"].Path);
            Assert.Equal(["encapsulate", "seal"], members["far"].Actions);

            var near = await ctl.JsonAsync("route-explain", "web/client", "api/near", "--proto", "tcp");
            var far = await ctl.JsonAsync("route-explain", "web/client", "api/far", "--proto", "tcp");
            output.WriteLine(await ctl.OkAsync("route-explain", "web/client", "api/near", "--proto", "tcp"));
            Assert.Equal("trusted-segment", near.GetProperty("path").GetString());
            Assert.Equal(["encapsulate"], Strings(near.GetProperty("actions")));
            Assert.Contains(Segment, near.GetProperty("pathReason").GetString());
            Assert.Equal("untrusted", far.GetProperty("path").GetString());
            Assert.Equal(["encapsulate", "seal"], Strings(far.GetProperty("actions")));

            apps.Add(AppProcess.StartOnAdapter(agents[0], "client", "10.1.0.1"));
            apps.Add(AppProcess.StartOnAdapter(agents[1], "near", "10.2.0.2"));
            apps.Add(AppProcess.StartOnAdapter(agents[2], "far", "10.2.0.3"));
            capture = PacketCapture.Start(a, "eth0", Path.Combine(work, "a.pcap"));
            var data = TcpTransfer.MakeData(256 << 10);
            foreach (var (ns, server) in new[] { (b, "10.2.0.2"), (c, "10.2.0.3") })
            {
                var (sent, received) = await TcpTransfer.RunAsync(ns, server, a, "10.1.0.1", data, TimeSpan.FromSeconds(40));
                Assert.Equal(Convert.ToHexString(sent), Convert.ToHexString(received));
            }
            var frames = capture.Stop().Where(f => f.Protocol == 17 && f.DestinationPort == 7480).ToList();

            // Data frames only: negotiation (type 3) is sealed on every path.
            var toNear = frames.Where(f => f.Destination == "10.97.1.2" && f.UdpPayload[1] != 3).ToList();
            var toFar = frames.Where(f => f.Destination == "10.97.2.3" && f.UdpPayload[1] != 3).ToList();
            output.WriteLine($"captured: {toNear.Count} frames to vmB, {toFar.Count} to vmC");
            Assert.NotEmpty(toNear);
            Assert.NotEmpty(toFar);
            // Trusted segment: type 5, the inner IPv4 packet right after the 32-byte header, the app's bytes readable.
            Assert.All(toNear, f => Assert.Equal(5, f.UdpPayload[1]));
            Assert.All(toNear, f => Assert.Equal([10, 1, 0, 1, 10, 2, 0, 2], f.UdpPayload.AsSpan(32 + 12, 8).ToArray()));
            Assert.Contains(toNear, f => f.UdpPayload.AsSpan().IndexOf(TcpTransfer.Marker) >= 0);
            // Elsewhere: sealed only, nothing of the inner packets readable.
            Assert.All(toFar, f => Assert.Equal(1, f.UdpPayload[1]));
            Assert.DoesNotContain(toFar, f => f.UdpPayload.AsSpan().IndexOf(TcpTransfer.Marker) >= 0);

            // The counters say what route-explain said: vmA sent clear to vmB and sealed to vmC; each receiver took one path.
            Assert.True(AgentControl.Counter(agents[0].ControlSocket, "web", "clear", "packetsOut") >= toNear.Count);
            Assert.True(AgentControl.Counter(agents[0].ControlSocket, "web", "sealed", "packetsOut") >= toFar.Count);
            Assert.True(AgentControl.Counter(agents[1].ControlSocket, "api", "clear", "packetsIn") > 0);
            Assert.Equal(0, AgentControl.Counter(agents[1].ControlSocket, "api", "sealed", "packetsIn"));
            Assert.True(AgentControl.Counter(agents[2].ControlSocket, "api", "sealed", "packetsIn") > 0);
            Assert.Equal(0, AgentControl.Counter(agents[2].ControlSocket, "api", "clear", "packetsIn"));
            Assert.True(AgentControl.Counter(agents[0].ControlSocket, "web", "clear", "packetsIn") > 0, "vmB's replies came back in clear");
            var stat = await ctl.JsonAsync("domain-stat", "vmA");
            output.WriteLine(stat.GetRawText());

            // A clear frame from vmC (outside the segment) to vmB: refused, whatever it claims; one claiming vmA from vmC's address is a spoof.
            long untrustedBefore = AgentControl.Drop(agents[1].ControlSocket, "clear-untrusted");
            long spoofBefore = AgentControl.Drop(agents[1].ControlSocket, "spoof");
            using (var forger = c.OpenSocket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
            {
                forger.Bind(new IPEndPoint(IPAddress.Parse("10.97.2.3"), 0));
                var target = new IPEndPoint(IPAddress.Parse("10.97.1.2"), 7480);
                forger.SendTo(FrameForge.Clear("api", "vmC", FrameForge.UdpPacket("10.2.0.3", "10.2.0.2")), target);
                forger.SendTo(FrameForge.Clear("api", "vmA", FrameForge.UdpPacket("10.1.0.1", "10.2.0.2")), target);
            }
            agents[1].WaitUntil(() => AgentControl.Drop(agents[1].ControlSocket, "clear-untrusted") == untrustedBefore + 1
                && AgentControl.Drop(agents[1].ControlSocket, "spoof") == spoofBefore + 1, TimeSpan.FromSeconds(10), "the forged clear frames counted");
            Assert.Equal(0, AgentControl.Counter(agents[2].ControlSocket, "api", "clear", "packetsIn"));
        }
        catch
        {
            output.WriteLine($"--- overlayd ---\n{daemon.Log}");
            foreach (var agent in agents) output.WriteLine($"--- agent {agent.Domain} ---\n{agent.Log}");
            throw;
        }
        finally
        {
            capture?.Dispose();
            foreach (var app in apps) app.Dispose();
            foreach (var agent in agents) agent.Dispose();
            Directory.Delete(work, recursive: true);
        }
    }

    private static string[] Strings(System.Text.Json.JsonElement array) => array.EnumerateArray().Select(e => e.GetString()!).ToArray();
}
