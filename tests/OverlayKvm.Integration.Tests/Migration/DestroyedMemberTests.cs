using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using OverlayKvm.Integration.Tests.Harness;
using OverlayKvm.Integration.Tests.Policy;
using Xunit.Abstractions;

namespace OverlayKvm.Integration.Tests.Migration;

/// <summary>
/// Issue 15, show 3: <c>virsh destroy</c> of a member → within 2 s its peer's agent holds no rule for it (agent
/// <c>rules</c>, <c>stat</c>'s rule counts) and no route (a send to it is counted as no-route); overlayd's directory
/// says it is unreachable. Started again, it is reachable again without anyone touching the overlay.
/// </summary>
[Collection(LibvirtHostsCollection.Name)]
public sealed class DestroyedMemberTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task VirshDestroy_Within2s_PeerFlushesRulesAndRoute_StartAgain_Reachable()
    {
        await using var s = await DestroyedMemberScenario.CreateAsync();
        try
        {
            var data = TcpTransfer.MakeData(256 << 10);
            var (sent, received) = await TcpTransfer.RunAsync(s.B, DestroyedMemberScenario.Server, s.A, DestroyedMemberScenario.Client, data, TimeSpan.FromSeconds(30));
            Assert.Equal(Convert.ToHexString(sent), Convert.ToHexString(received));
            Assert.True(MentionsServer(TwoGroupScenario.Rules(s.AgentA)), $"vmA holds no rule for server after a transfer: {TwoGroupScenario.Rules(s.AgentA).ToJsonString()}");
            Assert.True((await s.Ctl.JsonAsync("route-explain", $"{DestroyedMemberScenario.Group}/client", $"{DestroyedMemberScenario.Group}/server")).GetProperty("destinationReachable").GetBoolean());

            using var udp = s.A.OpenSocket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            udp.Bind(new IPEndPoint(IPAddress.Parse(DestroyedMemberScenario.Client), 0));
            var server = new IPEndPoint(IPAddress.Parse(DestroyedMemberScenario.Server), 9);
            long noRouteBefore = AgentControl.Drop(s.AgentA.ControlSocket, "no-route");

            s.Libvirt.Virsh("destroy", "vmB");
            var clock = Stopwatch.StartNew();
            TimeSpan? rulesGoneAt = null, noRouteAt = null;
            while (clock.Elapsed < Limit + TimeSpan.FromSeconds(8) && (rulesGoneAt is null || noRouteAt is null))
            {
                if (rulesGoneAt is null && !MentionsServer(TwoGroupScenario.Rules(s.AgentA)) && RuleCount(s.AgentA) == 0) rulesGoneAt = clock.Elapsed;
                udp.SendTo("ping"u8, server);
                if (noRouteAt is null && AgentControl.Drop(s.AgentA.ControlSocket, "no-route") > noRouteBefore) noRouteAt = clock.Elapsed;
                await Task.Delay(20);
            }
            output.WriteLine($"virsh destroy vmB: vmA's rules for server gone after {Seconds(rulesGoneAt)}, a send to server counted no-route after {Seconds(noRouteAt)}");
            Assert.True(rulesGoneAt is { } r && r <= Limit, $"vmA still held rules for server {Limit.TotalSeconds} s after virsh destroy ({Seconds(rulesGoneAt)})");
            Assert.True(noRouteAt is { } n && n <= Limit, $"vmA still routed to server {Limit.TotalSeconds} s after virsh destroy ({Seconds(noRouteAt)})");
            var explain = await s.Ctl.JsonAsync("route-explain", $"{DestroyedMemberScenario.Group}/client", $"{DestroyedMemberScenario.Group}/server");
            Assert.False(explain.GetProperty("destinationReachable").GetBoolean());
            var vmAConfig = await s.Ctl.JsonAsync("domain-config", "vmA");
            Assert.DoesNotContain("\"server\"", vmAConfig.GetRawText());

            // Started again: overlayd sees the start, peers get server back, traffic flows without any admin command.
            s.StartVmB();
            await WaitAsync(() => (s.Ctl.JsonAsync("route-explain", $"{DestroyedMemberScenario.Group}/client", $"{DestroyedMemberScenario.Group}/server")
                .GetAwaiter().GetResult()).GetProperty("destinationReachable").GetBoolean(), "server never reachable again after virsh create");
            await s.WaitConfiguredAsync();
            (sent, received) = await TcpTransfer.RunAsync(s.B, DestroyedMemberScenario.Server, s.A, DestroyedMemberScenario.Client, data, TimeSpan.FromSeconds(30));
            Assert.Equal(Convert.ToHexString(sent), Convert.ToHexString(received));
        }
        catch
        {
            output.WriteLine(s.Logs());
            throw;
        }
    }

    private static bool MentionsServer(JsonArray rules)
    {
        foreach (var rule in rules)
        {
            if (rule!["source"]!.GetValue<string>().StartsWith(DestroyedMemberScenario.Server, StringComparison.Ordinal)
                || rule["destination"]!.GetValue<string>().StartsWith(DestroyedMemberScenario.Server, StringComparison.Ordinal))
                return true;
        }
        return false;
    }

    private static int RuleCount(AgentProcess agent)
    {
        var tm = AgentControl.Stat(agent.ControlSocket)["transmission"]!;
        return tm["egressRules"]!.GetValue<int>() + tm["ingressRules"]!.GetValue<int>();
    }

    private static async Task WaitAsync(Func<bool> condition, string failure)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, failure);
            await Task.Delay(100);
        }
    }

    private static string Seconds(TimeSpan? at) => at is { } v ? $"{v.TotalSeconds:F2} s" : "never";
}
