using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using OverlayKvm.Integration.Tests.Harness;
using Xunit.Abstractions;

namespace OverlayKvm.Integration.Tests.Cluster;

/// <summary>
/// Issue 11, Show 4: host B's overlayd killed with SIGKILL and not restarted. Within the lease TTL + 2 s host A's
/// agent stops sending to B's app (counted as no-route) and host-list shows B down; B's overlayd started again
/// registers anew and traffic resumes by itself.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class HostLeaseExpiryTests(ClusterFixture cluster, ITestOutputHelper output)
{
    private const int LeaseTtlSeconds = ClusterFixture.LeaseTtlSeconds;

    [Fact]
    public async Task HostBKilled_WithinTtlPlusTwoSeconds_PeersCountNoRouteAndHostListShowsDown_BackAfterRestart()
    {
        await cluster.ReadyAsync(output);
        var t = cluster.Topology;
        try
        {
            var data = TcpTransfer.MakeData(1 << 20);
            var (sent, received) = await TcpTransfer.RunAsync(t.NsVmB, ClusterTopology.Server, t.NsVmA1, ClusterTopology.Client, data, TimeSpan.FromSeconds(30));
            Assert.Equal(Convert.ToHexString(sent), Convert.ToHexString(received));
            Assert.Equal("alive", await StateOfAsync(t, "hB"));

            using var udp = t.NsVmA1.OpenSocket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            udp.Bind(new IPEndPoint(IPAddress.Parse(ClusterTopology.Client), 0));
            var server = new IPEndPoint(IPAddress.Parse(ClusterTopology.Server), 9);
            long noRouteBefore = AgentControl.Drop(t.AgentA1.ControlSocket, "no-route");

            await t.HostB.KillAsync();
            var clock = Stopwatch.StartNew();
            TimeSpan? noRouteAt = null, downAt = null;
            while (clock.Elapsed < TimeSpan.FromSeconds(LeaseTtlSeconds + 6) && (noRouteAt is null || downAt is null))
            {
                udp.SendTo("ping"u8, server);
                if (noRouteAt is null && AgentControl.Drop(t.AgentA1.ControlSocket, "no-route") > noRouteBefore) noRouteAt = clock.Elapsed;
                if (downAt is null && await StateOfAsync(t, "hB") == "down") downAt = clock.Elapsed;
                await Task.Delay(20);
            }
            output.WriteLine($"lease TTL {LeaseTtlSeconds} s: vmA1 counted no-route after {Seconds(noRouteAt)}, host-list showed hB down after {Seconds(downAt)}");
            output.WriteLine(await t.CtlA.OkAsync("host-list"));
            var limit = TimeSpan.FromSeconds(LeaseTtlSeconds + 2);
            Assert.True(noRouteAt is { } n && n <= limit, $"vmA1 did not count no-route towards hB's app within {limit.TotalSeconds} s ({Seconds(noRouteAt)})");
            Assert.True(downAt is { } d && d <= limit, $"host-list did not show hB down within {limit.TotalSeconds} s ({Seconds(downAt)})");
            var explain = await t.CtlA.JsonAsync("route-explain", "web/client", "web/server");
            Assert.False(explain.GetProperty("destinationReachable").GetBoolean());
            Assert.Equal(["drop"], explain.GetProperty("actions").EnumerateArray().Select(a => a.GetString()));

            // Host B comes back: it registers under a new lease, host A puts its app back, traffic flows again.
            await t.RestartHostBAsync();
            // Both hosts see each other alive again and vmA1 runs the document that lists server again.
            await t.WaitAppliedAsync(TimeSpan.FromSeconds(20));
            (sent, received) = await TcpTransfer.RunAsync(t.NsVmB, ClusterTopology.Server, t.NsVmA1, ClusterTopology.Client, data, TimeSpan.FromSeconds(30));
            Assert.Equal(Convert.ToHexString(sent), Convert.ToHexString(received));
        }
        catch
        {
            output.WriteLine(t.Logs());
            throw;
        }
    }

    private static string Seconds(TimeSpan? at) => at is { } v ? $"{v.TotalSeconds:F2} s" : "never";

    private static async Task<string> StateOfAsync(ClusterTopology t, string host)
    {
        JsonElement hosts = await t.CtlA.JsonAsync("host-list");
        var entry = hosts.EnumerateArray().Single(h => h.GetProperty("name").GetString() == host);
        return entry.GetProperty("alive").GetBoolean() ? "alive" : "down";
    }
}
