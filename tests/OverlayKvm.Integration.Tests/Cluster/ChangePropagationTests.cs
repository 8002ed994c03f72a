using System.Diagnostics;
using OverlayKvm.Integration.Tests.Daemon;
using Xunit.Abstractions;

namespace OverlayKvm.Integration.Tests.Cluster;

/// <summary>
/// Issue 11, Show 2 (watch, not poll): a change made through host A's overlayctl reaches host B's agent as a new
/// document within a second — host B's overlayd learns of it from the store's watch, nobody polls. With host B's
/// overlayd killed, the changes made meanwhile are not lost: restarted, it catches up and pushes them.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ChangePropagationTests(ClusterFixture cluster, ITestOutputHelper output)
{
    [Fact]
    public async Task AppDefinedOnHostA_AppliedByHostBsAgentWithinOneSecond_HostBCatchesUpAfterRestart()
    {
        await cluster.ReadyAsync(output);
        var t = cluster.Topology;
        try
        {
            // Read from the agent itself (its control socket answers in microseconds; an overlayctl run costs ~100 ms).
            var before = AgentVersion(t);
            // Through host A's API directly: an overlayctl process would add its own start-up (~0.5-2 s on a busy
            // 2-core machine) to a figure that is about the store and the push.
            using var api = UnixHttp.Create(t.HostA.Socket);
            var clock = Stopwatch.StartNew();
            var response = await api.PostAsync("v1/apps", new StringContent(
                """{"group":"web","name":"extra1","domain":"vmA1","address":"10.1.0.11"}""", System.Text.Encoding.UTF8, "application/json"));
            var defined = clock.Elapsed;
            Assert.True(response.IsSuccessStatusCode, $"app-define through host A's API: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            long applied;
            while ((applied = AgentVersion(t)) <= before && clock.Elapsed < TimeSpan.FromSeconds(10))
                await Task.Delay(5);
            var reached = clock.Elapsed;
            output.WriteLine($"app-define on hA answered after {defined.TotalMilliseconds:F0} ms; vmB (hB) applied version {applied} (was {before}) after {reached.TotalMilliseconds:F0} ms");
            Assert.True(applied > before, $"host B's agent never applied a newer document (still {applied})");
            Assert.True(reached < TimeSpan.FromSeconds(1), $"host B's agent applied the change after {reached.TotalMilliseconds:F0} ms, not within 1 s");
            Assert.Contains("extra1", await MembersOfVmBAsync(t));

            // Host B's overlayd dies; host A goes on changing things; host B comes back and catches up.
            await t.HostB.KillAsync();
            await t.CtlA.OkAsync("app-define", "web", "extra2", "--domain", "vmA1", "--address", "10.1.0.12");
            await t.CtlA.OkAsync("app-define", "web", "extra3", "--domain", "vmA2", "--address", "10.1.0.13");
            await t.CtlA.OkAsync("app-undefine", "web", "extra1");
            await t.RestartHostBAsync();
            await t.WaitAppliedAsync(TimeSpan.FromSeconds(20));
            var members = await MembersOfVmBAsync(t);
            output.WriteLine($"after the restart vmB's document lists: {string.Join(", ", members)}");
            Assert.Equal(["client", "extra2", "extra3", "near", "server"], members);
        }
        catch
        {
            output.WriteLine(t.Logs());
            throw;
        }
    }

    private static long AgentVersion(ClusterTopology t) =>
        Harness.AgentControl.Stat(t.AgentB.ControlSocket)["configVersion"]?.GetValue<long>() ?? -1;

    // What host B would push to vmB now (WaitAppliedAsync: its agent runs exactly that document).
    private static async Task<string[]> MembersOfVmBAsync(ClusterTopology t) =>
        (await t.CtlB.JsonAsync("domain-config", "vmB")).GetProperty("groups")[0].GetProperty("members").EnumerateArray()
            .Select(m => m.GetProperty("name").GetString()!).ToArray();
}
