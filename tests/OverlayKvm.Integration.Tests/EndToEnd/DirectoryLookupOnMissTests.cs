using System.Net;
using System.Net.Sockets;
using OverlayKvm.Integration.Tests.Agent;
using OverlayKvm.Integration.Tests.Daemon;
using OverlayKvm.Integration.Tests.Harness;
using Xunit.Abstractions;

namespace OverlayKvm.Integration.Tests.EndToEnd;

/// <summary>
/// Seed 002 R4–R5 with the real overlayd and real agents: vmA's configuration pushes are held back (a proxy on its host
/// channel), a member is defined on vmB afterwards, and vmA reaches it at once — its agent asks overlayd on the miss
/// and gets the member with its route — while vmA is still on the older document.
/// </summary>
[Collection(AgentCollection.Name)]
public sealed class DirectoryLookupOnMissTests(ITestOutputHelper output)
{
    [Fact]
    public async Task MemberDefinedAfterTheLastPush_ReachableAtOnce_ThroughALookup()
    {
        await using var s = await WebGroupScenario.CreateAsync("pmla", "pmlb", "10.96.0", [("first", "10.1.0.2")], proxyA: true);
        var (ctl, a, b, agentA, agentB, proxy) = (s.Ctl, s.A, s.B, s.AgentA, s.AgentB, s.ProxyA!);
        try
        {
            var first = (await ctl.JsonAsync("domain-config", "vmA")).GetProperty("version").GetInt64();
            await OverlaydDrivesAgentsTests.WaitApplied(ctl, first, "initial configuration");

            // From now on vmA gets no document; vmB does.
            proxy.HoldConfigs = true;
            await ctl.OkAsync("app-define", "web", "late", "--domain", "vmB", "--address", "10.1.0.3");
            var later = (await ctl.JsonAsync("domain-config", "vmB")).GetProperty("version").GetInt64();
            Assert.True(later > first);
            await WaitAck(ctl, "vmB", later);

            s.StartApp(agentA, "client", WebGroupScenario.Client);
            s.StartApp(agentB, "late", "10.1.0.3");
            Assert.True(proxy.HeldConfigs > 0, "overlayd pushed nothing to vmA after the new member: the test shows nothing");

            using var receiver = b.OpenSocket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            receiver.Bind(new IPEndPoint(IPAddress.Parse("10.1.0.3"), 9999));
            using var sender = a.OpenSocket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            sender.Bind(new IPEndPoint(IPAddress.Parse("10.1.0.1"), 0));
            var started = DateTime.UtcNow;
            var buffer = new byte[64];
            int received = 0;
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            while (received == 0 && !cts.IsCancellationRequested)
            {
                sender.SendTo("hello late member"u8, new IPEndPoint(IPAddress.Parse("10.1.0.3"), 9999));
                try
                {
                    using var wait = CancellationTokenSource.CreateLinkedTokenSource(cts.Token);
                    wait.CancelAfter(TimeSpan.FromMilliseconds(100));
                    received = await receiver.ReceiveAsync(buffer, SocketFlags.None, wait.Token);
                }
                catch (OperationCanceledException) when (!cts.IsCancellationRequested)
                {
                }
            }
            var elapsed = DateTime.UtcNow - started;
            output.WriteLine($"first datagram to the late member after {elapsed.TotalMilliseconds:0} ms; configs held back from vmA: {proxy.HeldConfigs}");
            Assert.Equal("hello late member", System.Text.Encoding.UTF8.GetString(buffer, 0, received));

            // vmA still runs the document from before the member existed: the route came from the directory lookup.
            var vmA = (await ctl.JsonAsync("channel-list")).EnumerateArray().Single(c => c.GetProperty("domain").GetString() == "vmA");
            Assert.True(vmA.GetProperty("acknowledgedVersion").GetInt64() < later, vmA.GetRawText());
            Assert.Contains("learned before the next document", agentA.Log);
            Assert.True(AgentControl.Drop(agentA.ControlSocket, "no-route") >= 1, "the first packet to the unknown member is dropped while the directory is asked");
        }
        catch
        {
            output.WriteLine(s.Logs());
            throw;
        }
    }

    private static async Task WaitAck(Overlayctl ctl, string domain, long version)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            var channel = (await ctl.JsonAsync("channel-list")).EnumerateArray().FirstOrDefault(c => c.GetProperty("domain").GetString() == domain);
            if (channel.ValueKind != System.Text.Json.JsonValueKind.Undefined && channel.GetProperty("acknowledgedVersion").GetInt64() >= version)
                return;
            await Task.Delay(200);
        }
        Assert.Fail($"{domain} did not apply version {version} within 20 s");
    }
}
