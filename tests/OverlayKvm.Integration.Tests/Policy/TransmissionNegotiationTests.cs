using System.Text.Json.Nodes;
using OverlayKvm.Core.Crypto;
using OverlayKvm.Core.Wire;
using Interop = OverlayKvm.Core.Interop.Interop;
using OverlayKvm.Integration.Tests.Agent;
using OverlayKvm.Integration.Tests.Harness;
using Xunit.Abstractions;
using OverlayKvm.TestSupport.Packets;

namespace OverlayKvm.Integration.Tests.Policy;

/// <summary>
/// Issue 7, Show 1–5 on real agents configured by a real overlayd: "G3 accepts tcp/80 from G2" between app B
/// (G2, vmA) and app D (G3, vmB), negotiated between the agents, enforced at both ends.
/// </summary>
[Collection(AgentCollection.Name)]
public sealed class TransmissionNegotiationTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(3);

    [Fact]
    public async Task G3AcceptsTcp80FromG2_HttpSucceeds_81And22RefusedAtSender_TenThousandPacketsOneNegotiation()
    {
        await using var s = await TwoGroupScenario.CreateAsync(["G3", "--from", "G2", "--proto", "tcp", "--port", "80"]);
        try
        {
            using var http = TcpExchange.Listen(s.B, TwoGroupScenario.AppD, 80);
            using var ssh = TcpExchange.Listen(s.B, TwoGroupScenario.AppD, 22);
            using var other = TcpExchange.Listen(s.B, TwoGroupScenario.AppD, 81);

            var first = System.Diagnostics.Stopwatch.StartNew();
            string? response = await TcpExchange.GetAsync(s.A, TwoGroupScenario.AppB, TwoGroupScenario.AppD, 80, TimeSpan.FromSeconds(10));
            first.Stop();
            Assert.NotNull(response);
            Assert.Contains("200 OK", response);
            Assert.Contains(TcpExchange.Body, response);
            var second = System.Diagnostics.Stopwatch.StartNew();
            Assert.NotNull(await TcpExchange.GetAsync(s.A, TwoGroupScenario.AppB, TwoGroupScenario.AppD, 80, TimeSpan.FromSeconds(10)));
            second.Stop();
            // The first request waits for Is Allowed → Allowed (its SYN is held, then released); the second finds the rule.
            output.WriteLine($"HTTP GET with negotiation {first.Elapsed.TotalMilliseconds:0.00} ms, with the cached rule {second.Elapsed.TotalMilliseconds:0.00} ms; " +
                $"Is Allowed → Allowed as vmA's agent measured it: {TwoGroupScenario.Tm(s.AgentA, "negotiation_us_total")} µs");

            // 16 MiB over tcp/80: well over 10,000 packets, no second negotiation.
            long sealedBefore = AgentControl.Counter(s.AgentA.ControlSocket, "G2", "sealed", "packetsOut");
            Assert.True(await TcpExchange.PushAsync(s.A, TwoGroupScenario.AppB, TwoGroupScenario.AppD, 80, 16 << 20, TimeSpan.FromSeconds(60)), "16 MiB push on tcp/80 failed");
            long packets = AgentControl.Counter(s.AgentA.ControlSocket, "G2", "sealed", "packetsOut") - sealedBefore;
            output.WriteLine($"tcp/80: {packets} packets sealed by vmA, negotiations_sent={TwoGroupScenario.Tm(s.AgentA, "negotiations_sent")}");
            Assert.True(packets >= 10_000, $"only {packets} packets");
            Assert.Equal(1, TwoGroupScenario.Tm(s.AgentA, "negotiations_sent"));
            Assert.Equal(1, TwoGroupScenario.Tm(s.AgentB, "negotiations_received"));

            foreach (int port in new[] { 81, 22 })
            {
                // The first attempt negotiates (Not Allowed); the rule then refuses at the sender.
                Assert.Null(await TcpExchange.GetAsync(s.A, TwoGroupScenario.AppB, TwoGroupScenario.AppD, port, Short));
                // Let earlier connections finish their closing exchanges, so the capture holds only this attempt.
                await AgentControl.SettledPacketsInAsync(s.AgentA.ControlSocket, "G2");
                long deniedBefore = AgentControl.Drop(s.AgentA.ControlSocket, "denied-egress");
                using var capture = PacketCapture.Start(s.A, "va", Path.Combine(s.Work, $"deny{port}.pcap"));
                Assert.Null(await TcpExchange.GetAsync(s.A, TwoGroupScenario.AppB, TwoGroupScenario.AppD, port, Short));
                var frames = capture.Stop();
                long denied = AgentControl.Drop(s.AgentA.ControlSocket, "denied-egress") - deniedBefore;
                output.WriteLine($"tcp/{port}: denied-egress +{denied}, underlay frames during the attempt: {frames.Count(f => f.DestinationPort == 7480)}");
                foreach (var f in frames.Where(f => f.DestinationPort == 7480 || f.SourcePort == 7480))
                    output.WriteLine($"  {f.Source}:{f.SourcePort} -> {f.Destination}:{f.DestinationPort} udp payload {f.UdpPayload.Length} B");
                Assert.True(denied >= 1, $"tcp/{port}: no denied-egress");
                Assert.DoesNotContain(frames, f => f.DestinationPort == 7480 || f.SourcePort == 7480);
            }
            Assert.Equal(3, TwoGroupScenario.Tm(s.AgentA, "negotiations_sent"));
            output.WriteLine($"negotiation latency: 3 negotiations took {TwoGroupScenario.Tm(s.AgentA, "negotiation_us_total")} µs in total (the first includes the agents' JIT)");
            Assert.Equal(2, TwoGroupScenario.Tm(s.AgentA, "not_allowed_received"));
            Assert.Equal(0, ssh.Served + other.Served);

            // R4.8: matching rules at both ends.
            JsonArray egress = TwoGroupScenario.Rules(s.AgentA);
            JsonArray ingress = TwoGroupScenario.Rules(s.AgentB);
            output.WriteLine(egress.ToJsonString());
            output.WriteLine(ingress.ToJsonString());
            foreach (var (port, verdict) in new[] { (80, "allow"), (81, "deny"), (22, "deny") })
            {
                Assert.Contains(egress, r => Is(r!, "egress", port, verdict));
                Assert.Contains(ingress, r => Is(r!, "ingress", port, verdict));
            }

            // Show 5: route-explain says the same.
            Assert.Equal("allow", (await s.Ctl.JsonAsync("route-explain", "G2/B", "G3/D", "--proto", "tcp", "--port", "80")).GetProperty("verdict").GetString());
            Assert.Equal("deny", (await s.Ctl.JsonAsync("route-explain", "G2/B", "G3/D", "--proto", "tcp", "--port", "22")).GetProperty("verdict").GetString());
        }
        catch
        {
            output.WriteLine(s.Logs());
            throw;
        }
    }

    [Fact]
    public async Task PolicyRemovedWhileTrafficFlows_NextPacketsRenegotiatedAndDenied_UntouchedRuleStays()
    {
        await using var s = await TwoGroupScenario.CreateAsync(
            ["G3", "--from", "G2", "--proto", "tcp", "--port", "80"],
            ["G3", "--from", "G2", "--proto", "tcp", "--port", "8080"]);
        try
        {
            using var http = TcpExchange.Listen(s.B, TwoGroupScenario.AppD, 80);
            using var alt = TcpExchange.Listen(s.B, TwoGroupScenario.AppD, 8080);
            Assert.NotNull(await TcpExchange.GetAsync(s.A, TwoGroupScenario.AppB, TwoGroupScenario.AppD, 80, TimeSpan.FromSeconds(10)));
            Assert.NotNull(await TcpExchange.GetAsync(s.A, TwoGroupScenario.AppB, TwoGroupScenario.AppD, 8080, TimeSpan.FromSeconds(10)));
            Assert.Equal(2, TwoGroupScenario.Tm(s.AgentA, "negotiations_sent"));

            // Traffic flows on tcp/80 while the policy goes.
            using var flowing = new CancellationTokenSource();
            var traffic = Task.Run(async () =>
            {
                while (!flowing.IsCancellationRequested)
                {
                    await TcpExchange.GetAsync(s.A, TwoGroupScenario.AppB, TwoGroupScenario.AppD, 80, TimeSpan.FromSeconds(1));
                    await Task.Delay(50);
                }
            });
            var policies = await s.Ctl.JsonAsync("policy-list");
            long id = policies.EnumerateArray().Single(p => p.GetProperty("ports").GetString() == "80").GetProperty("id").GetInt64();
            var removedAt = DateTime.UtcNow;
            await s.Ctl.OkAsync("policy-remove", id.ToString());
            await s.WaitConfiguredAsync();
            var pushDelay = DateTime.UtcNow - removedAt;
            await Task.Delay(500);
            long servedAfterPush = http.Served;
            await Task.Delay(2000);
            flowing.Cancel();
            await traffic;
            output.WriteLine($"push delay {pushDelay.TotalMilliseconds:0} ms; tcp/80 served {http.Served} (at push+0.5 s: {servedAfterPush})");
            Assert.Equal(servedAfterPush, http.Served);

            Assert.True(TwoGroupScenario.Tm(s.AgentB, "not_permitted_sent") >= 1, "vmB did not tell vmA to invalidate");
            Assert.True(TwoGroupScenario.Tm(s.AgentA, "not_permitted_received") >= 1, "vmA was not told to invalidate");
            Assert.True(TwoGroupScenario.Tm(s.AgentA, "not_allowed_received") >= 1, "tcp/80 was not renegotiated and refused");
            Assert.Null(await TcpExchange.GetAsync(s.A, TwoGroupScenario.AppB, TwoGroupScenario.AppD, 80, Short));

            // tcp/8080's rule was not touched: it still passes, with no new negotiation.
            long negotiations = TwoGroupScenario.Tm(s.AgentA, "negotiations_sent");
            Assert.NotNull(await TcpExchange.GetAsync(s.A, TwoGroupScenario.AppB, TwoGroupScenario.AppD, 8080, TimeSpan.FromSeconds(10)));
            Assert.Equal(negotiations, TwoGroupScenario.Tm(s.AgentA, "negotiations_sent"));
        }
        catch
        {
            output.WriteLine(s.Logs());
            throw;
        }
    }

    [Fact]
    public async Task DenyRuleExpires_UnreachablePeerCountsAsDenyWithTtl_TrafficRecoversWhenItReturns()
    {
        await using var s = await TwoGroupScenario.CreateAsync(4000, ["G3", "--from", "G2", "--proto", "tcp", "--port", "80"]);
        try
        {
            using var http = TcpExchange.Listen(s.B, TwoGroupScenario.AppD, 80);
            // A refusal leaves a deny rule that is gone after its TTL.
            Assert.Null(await TcpExchange.GetAsync(s.A, TwoGroupScenario.AppB, TwoGroupScenario.AppD, 81, TimeSpan.FromSeconds(1.5)));
            Assert.Contains(TwoGroupScenario.Rules(s.AgentA), r => Is(r!, "egress", 81, "deny"));
            await Task.Delay(s.DenyTtlMs + 500);
            Assert.DoesNotContain(TwoGroupScenario.Rules(s.AgentA), r => r!["port"]!.GetValue<int>() == 81);
            Assert.True(TwoGroupScenario.Tm(s.AgentA, "rules_expired") >= 1);

            // vmB's agent stops answering: the negotiation times out and counts as deny.
            Interop.Kill(s.AgentB.Pid, 19); // SIGSTOP
            try
            {
                Assert.Null(await TcpExchange.GetAsync(s.A, TwoGroupScenario.AppB, TwoGroupScenario.AppD, 80, Short));
                Assert.True(TwoGroupScenario.Tm(s.AgentA, "negotiation_timeouts") >= 1);
                var rule = TwoGroupScenario.Rules(s.AgentA).Single(r => r!["port"]!.GetValue<int>() == 80)!;
                Assert.Equal("deny", rule["verdict"]!.GetValue<string>());
                Assert.Contains("no answer from vmB", rule["reason"]!.GetValue<string>());
            }
            finally
            {
                Interop.Kill(s.AgentB.Pid, 18); // SIGCONT
            }
            // After the deny TTL the flow is negotiated again and passes.
            var deadline = DateTime.UtcNow + TimeSpan.FromMilliseconds(s.DenyTtlMs * 3);
            string? response = null;
            while (response is null && DateTime.UtcNow < deadline)
            {
                response = await TcpExchange.GetAsync(s.A, TwoGroupScenario.AppB, TwoGroupScenario.AppD, 80, TimeSpan.FromSeconds(2));
            }
            Assert.NotNull(response);
            Assert.True(TwoGroupScenario.Tm(s.AgentA, "allowed_received") >= 1);
        }
        catch
        {
            output.WriteLine(s.Logs());
            throw;
        }
    }

    [Fact]
    public async Task ForgedFrameWithValidCredentials_NoAllowRule_DroppedAtReceiver_SenderToldToInvalidate()
    {
        await using var s = await TwoGroupScenario.CreateAsync(["G3", "--from", "G2", "--proto", "tcp", "--port", "80"]);
        try
        {
            using var ssh = TcpExchange.Listen(s.B, TwoGroupScenario.AppD, 22);
            // vmA's own key for G3 (derived for vmA as a sender), as a compromised vmA would have it.
            var doc = await s.Ctl.JsonAsync("domain-config", "vmA", "--show-secrets");
            var neighbor = doc.GetProperty("neighbors").EnumerateArray().Single();
            var credential = neighbor.GetProperty("sendCredentials").EnumerateArray().Last();
            byte[] key = Convert.FromBase64String(credential.GetProperty("key").GetString()!);
            int epoch = credential.GetProperty("epoch").GetInt32();

            byte[] inner = TcpSyn(TwoGroupScenario.AppB, TwoGroupScenario.AppD, 40022, 22);
            byte[] frame = SealAsSender(key, "G3", epoch, "vmA", inner);
            long deniedBefore = AgentControl.Drop(s.AgentB.ControlSocket, "denied-ingress");
            using (var udp = s.A.OpenSocket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp))
            {
                udp.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Parse("10.96.0.1"), 0));
                udp.SendTo(frame, new System.Net.IPEndPoint(System.Net.IPAddress.Parse("10.96.0.2"), 7480));
            }
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
            while (DateTime.UtcNow < deadline && TwoGroupScenario.Tm(s.AgentA, "not_permitted_received") == 0)
            {
                await Task.Delay(50);
            }
            Assert.Equal(deniedBefore + 1, AgentControl.Drop(s.AgentB.ControlSocket, "denied-ingress"));
            Assert.Equal(1, TwoGroupScenario.Tm(s.AgentB, "not_permitted_sent"));
            Assert.Equal(1, TwoGroupScenario.Tm(s.AgentA, "not_permitted_received"));
            Assert.Equal(0, ssh.Served);
            // Issue 14 item 8: a deny of unsolicited ingress is not cached (a peer spraying ports must not fill the table).
            Assert.DoesNotContain(TwoGroupScenario.Rules(s.AgentB), r => Is(r!, "ingress", 22, "deny"));
        }
        catch
        {
            output.WriteLine(s.Logs());
            throw;
        }
    }

    private static bool Is(JsonNode rule, string direction, int port, string verdict) =>
        rule["direction"]!.GetValue<string>() == direction && rule["port"]!.GetValue<int>() == port && rule["verdict"]!.GetValue<string>() == verdict
        && rule["source"]!.GetValue<string>() == TwoGroupScenario.AppB && rule["destination"]!.GetValue<string>() == TwoGroupScenario.AppD;

    private static byte[] SealAsSender(byte[] senderKey, string group, int epoch, string domain, byte[] inner)
    {
        uint groupId = OverlayIds.GroupId(group);
        using var cipher = FrameCipher.ForStream(senderKey, FrameForge.ForgerSalt);
        var frame = new byte[inner.Length + SealedFrameHeader.Overhead];
        inner.CopyTo(frame, SealedFrameHeader.Size);
        int n = cipher.Seal(new SealedFrameHeader(FrameType.Data, groupId, (uint)epoch, OverlayIds.SenderIndex(domain), FrameForge.ForgerSalt, FrameForge.FreshCounter()), frame, inner.Length);
        Assert.Equal(frame.Length, n);
        return frame;
    }

    private static byte[] TcpSyn(string source, string destination, ushort sourcePort, ushort destinationPort)
    {
        var p = new byte[40];
        TestPackets.WriteIpv4(p, p.Length, TestPackets.Tcp, source, destination);
        TestPackets.WritePorts(p, sourcePort, destinationPort);
        p[32] = 0x50;
        p[33] = 0x02; // SYN
        return p;
    }
}
