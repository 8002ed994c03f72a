using System.Diagnostics;
using System.Text.Json;
using OverlayKvm.Integration.Tests.Harness;
using Xunit.Abstractions;

namespace OverlayKvm.Integration.Tests.Migration;

/// <summary>
/// Issue 15 (part of show 1): a member domain migrates live between two libvirt hosts of the cluster; the
/// destination's overlayd moves it in the store, so peers' documents and <c>route-explain</c> carry the new host,
/// the channel follows (hB's overlayd serves vmB's agent) and traffic between the apps goes on; migrated back, the
/// same in reverse. The guest side is a namespace agent: the engine/ivshmem part of a migration is not covered here.
/// </summary>
[Collection(LibvirtHostsCollection.Name)]
public sealed class MigrationDirectoryTests(ITestOutputHelper output)
{
    [Fact]
    public async Task LiveMigration_DestinationOwnsTheDomain_PeersDocumentsAndRouteExplainShowTheNewHost_TrafficContinues()
    {
        // virsh alone moves vmB back and forth: no region is plugged in on arrival (DomainMigrateTests covers that).
        await using var t = await TwoHostMigrationTopology.CreateAsync(new TwoHostMigrationTopology.Options(PlugRegionsOnArrival: false));
        try
        {
            var data = TcpTransfer.MakeData(256 << 10);
            await t.TransferAsync(data);
            Assert.Equal("hA", await ServerHostInVmADocumentAsync(t));

            foreach (var (from, to, host) in new[] { (t.LibvirtA, t.LibvirtB, "hB"), (t.LibvirtB, t.LibvirtA, "hA") })
            {
                var clock = Stopwatch.StartNew();
                TwoHostMigrationTopology.Migrate(from, to);
                var migrated = clock.Elapsed;
                await UntilAsync(async () => (await t.CtlA.JsonAsync("domain-list")).EnumerateArray()
                    .Any(d => d.GetProperty("name").GetString() == "vmB" && d.GetProperty("host").GetString() == host), $"the store never placed vmB on {host}");
                var placed = clock.Elapsed;
                await ConfigApplied.WaitAsync(t.CtlA, t.AgentA);
                var applied = clock.Elapsed;
                output.WriteLine($"vmB → {host}: virsh migrate returned after {migrated.TotalSeconds:F2} s, store placed it after {placed.TotalSeconds:F2} s, vmA applied its document after {applied.TotalSeconds:F2} s");

                Assert.Equal(host, await ServerHostInVmADocumentAsync(t));
                var explain = await t.CtlA.JsonAsync("route-explain", $"{TwoHostMigrationTopology.Group}/client", $"{TwoHostMigrationTopology.Group}/server");
                output.WriteLine(explain.GetRawText());
                Assert.Contains(host, explain.GetRawText());
                Assert.True(explain.GetProperty("destinationReachable").GetBoolean());
                // The channel follows the domain: the destination's overlayd serves vmB's agent.
                var owner = host == "hA" ? t.CtlA : t.CtlB;
                await UntilAsync(async () => (await owner.JsonAsync("channel-list")).EnumerateArray()
                    .Any(c => c.GetProperty("domain").GetString() == "vmB" && c.GetProperty("connected").GetBoolean()), $"{host}'s overlayd never connected to vmB's channel");
                await t.TransferAsync(data);
            }
        }
        catch
        {
            output.WriteLine(t.Logs());
            throw;
        }
    }


    /// <summary>The host vmA's document gives for member server (what vmA's agent runs, once applied).</summary>
    private static async Task<string> ServerHostInVmADocumentAsync(TwoHostMigrationTopology t)
    {
        JsonElement doc = await t.CtlA.JsonAsync("domain-config", "vmA");
        foreach (var g in doc.GetProperty("groups").EnumerateArray())
            foreach (var m in g.GetProperty("members").EnumerateArray())
                if (m.GetProperty("name").GetString() == "server") return m.GetProperty("host").GetString()!;
        throw new InvalidOperationException($"vmA's document has no member server: {doc.GetRawText()}");
    }

    private static async Task UntilAsync(Func<Task<bool>> condition, string failure)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, failure);
            await Task.Delay(100);
        }
    }
}
