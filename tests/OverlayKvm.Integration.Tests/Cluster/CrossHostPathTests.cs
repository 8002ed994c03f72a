using System.Text.Json;
using OverlayKvm.Integration.Tests.Harness;
using Xunit.Abstractions;

namespace OverlayKvm.Integration.Tests.Cluster;

/// <summary>
/// Issue 11, Show 1: one group with members on two hosts. host A → host B goes sealed over the underlay (the
/// capture holds only UDP between the two VMs' own addresses, never a byte of the stream); host A → host A goes
/// through host A's engine (nothing on the VMs' network at all); both deliver the same SHA-256. route-explain names
/// the hosts and the path.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class CrossHostPathTests(ClusterFixture cluster, ITestOutputHelper output)
{
    private const int SixteenMegabytes = 16 << 20;

    [Fact]
    public async Task GroupOnTwoHosts_SealedAcrossTheUnderlay_EngineWithinAHost_SameSha256()
    {
        await cluster.ReadyAsync(output);
        var t = cluster.Topology;
        try
        {
            var data = TcpTransfer.MakeData(SixteenMegabytes);

            // host A (vmA1) → host B (vmB): sealed over the underlay bridge between the hosts.
            long sealedBefore = Counter(t.AgentA1, "sealed", "bytesOut");
            long engineBefore = Counter(t.AgentA1, "engine", "bytesOut");
            List<CapturedFrame> underlay;
            byte[] sent, received;
            using (var capture = PacketCapture.Start(t.Underlay, "clbr0", Path.Combine(t.Work, "underlay.pcap")))
            {
                (sent, received) = await TcpTransfer.RunAsync(t.NsVmB, ClusterTopology.Server, t.NsVmA1, ClusterTopology.Client, data, TimeSpan.FromSeconds(60));
                underlay = capture.Stop();
            }
            Assert.Equal(Convert.ToHexString(sent), Convert.ToHexString(received));
            long sealedBytes = Counter(t.AgentA1, "sealed", "bytesOut") - sealedBefore;
            var ipFrames = underlay.Where(f => f.EtherType == 0x0800).ToList();
            output.WriteLine($"A→B: {ipFrames.Count} IPv4 frames on the underlay, {underlay.Count - ipFrames.Count} others (ARP); vmA1 sealed bytes out +{sealedBytes}");
            Assert.True(sealedBytes >= SixteenMegabytes, $"vmA1 sealed only {sealedBytes} bytes of {SixteenMegabytes}");
            Assert.Equal(engineBefore, Counter(t.AgentA1, "engine", "bytesOut"));
            long underlayBytes = ipFrames.Sum(f => (long)f.IpPayload.Length);
            Assert.True(underlayBytes >= SixteenMegabytes, $"only {underlayBytes} bytes of IPv4 payload crossed the underlay for 16 MiB");
            string[] vms = [ClusterTopology.VmA1, ClusterTopology.VmB];
            Assert.All(ipFrames, f =>
            {
                Assert.Equal(17, f.Protocol);
                Assert.Contains(f.Source, vms);
                Assert.Contains(f.Destination, vms);
            });
            Assert.DoesNotContain(ipFrames, f => f.IpPayload.AsSpan().IndexOf(TcpTransfer.Marker) >= 0);

            // host A (vmA1) → host A (vmA2): the engine; nothing on host A's VM network, let alone the underlay.
            await WaitAttachedAsync(t.AgentA1);
            await WaitAttachedAsync(t.AgentA2);
            List<CapturedFrame> vmNetwork;
            byte[] sentNear, receivedNear;
            engineBefore = Counter(t.AgentA1, "engine", "bytesOut");
            sealedBefore = Counter(t.AgentA1, "sealed", "packetsOut");
            using (var capture = PacketCapture.Start(t.NsA, "clbra", Path.Combine(t.Work, "host-a.pcap")))
            {
                (sentNear, receivedNear) = await TcpTransfer.RunAsync(t.NsVmA2, ClusterTopology.Near, t.NsVmA1, ClusterTopology.Client, data, TimeSpan.FromSeconds(60));
                vmNetwork = capture.Stop();
            }
            long engineBytes = Counter(t.AgentA1, "engine", "bytesOut") - engineBefore;
            output.WriteLine($"A→A: vmA1 engine bytes out +{engineBytes}, sealed packets +{Counter(t.AgentA1, "sealed", "packetsOut") - sealedBefore}; {vmNetwork.Count} frames on host A's VM network");
            Assert.Equal(Convert.ToHexString(sent), Convert.ToHexString(receivedNear));
            Assert.Equal(Convert.ToHexString(sentNear), Convert.ToHexString(received));
            Assert.True(engineBytes >= SixteenMegabytes, $"vmA1's engine path carried only {engineBytes} bytes of {SixteenMegabytes}");
            Assert.DoesNotContain(vmNetwork, f => f.Protocol == 17);
            Assert.DoesNotContain(vmNetwork, f => f.IpPayload.AsSpan().IndexOf(TcpTransfer.Marker) >= 0);

            // route-explain says the same: which hosts, which path.
            var far = await t.CtlA.JsonAsync("route-explain", "web/client", "web/server");
            var near = await t.CtlA.JsonAsync("route-explain", "web/client", "web/near");
            output.WriteLine(await t.CtlA.OkAsync("route-explain", "web/client", "web/server"));
            Assert.Equal(["hA", "hB"], Strings(far, "hosts"));
            Assert.Equal("untrusted", far.GetProperty("path").GetString());
            Assert.Equal(["encapsulate", "seal"], Strings(far, "actions"));
            Assert.Equal(["hA"], Strings(near, "hosts"));
            Assert.Equal(["engine"], Strings(near, "actions"));
        }
        catch
        {
            output.WriteLine(t.Logs());
            throw;
        }
    }

    private static long Counter(AgentProcess agent, string path, string field) => AgentControl.Counter(agent.ControlSocket, "web", path, field);

    private static string[] Strings(JsonElement e, string property) => e.GetProperty(property).EnumerateArray().Select(x => x.GetString()!).ToArray();

    private static async Task WaitAttachedAsync(AgentProcess agent)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            if (AgentControl.Stat(agent.ControlSocket)["engine"]?["attached"] is System.Text.Json.Nodes.JsonArray attached
                && attached.Any(a => a!["group"]!.GetValue<string>() == "web"))
            {
                return;
            }
            await Task.Delay(100);
        }
        Assert.Fail($"agent {agent.Domain} did not attach to web's engine region within 20 s: {AgentControl.Stat(agent.ControlSocket).ToJsonString()}");
    }
}
