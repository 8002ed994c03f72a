using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using OverlayKvm.Integration.Tests.Harness;
using OverlayKvm.TestSupport;
using Xunit.Abstractions;

namespace OverlayKvm.Integration.Tests.Migration;

/// <summary>
/// Issue 15, Show 4: two chatty members on different hosts (vmA on hA, a namespace VM the operator pinned; vmB, a
/// real TCG domain, on hB) → <c>rebalance --dry-run</c> proposes moving vmB to hA with the bytes per second its
/// agents counted over the network; <c>rebalance --apply</c> migrates it (real <c>virsh migrate</c> between the two
/// libvirt daemons) and afterwards the traffic between them goes through hA's engine. Agents map hA's regions
/// (<c>--engine-dir</c>), which a namespace VM can; the ivshmem detach/attach of real guests is not covered here.
/// </summary>
[Collection(LibvirtHostsCollection.Name)]
public sealed class RebalanceTests(ITestOutputHelper output)
{
    private static readonly TwoHostMigrationTopology.Options Topology = new(Tag: "rb", EtcdPort: 33396, VmBHost: "hB", Engine: true,
        ConfigureDaemon: static (t, daemon, _) =>
        {
            daemon.Environment["OVERLAYKVM_REBALANCE__SAMPLEINTERVALSECONDS"] = "1";
            daemon.Environment["OVERLAYKVM_REBALANCE__WINDOWSECONDS"] = "5";
        });

    [Fact]
    public async Task ChattyMembersOnTwoHosts_DryRunProposesTheMoveWithItsBytes_ApplyMigrates_ThenTrafficTakesTheEngine()
    {
        await using var t = await TwoHostMigrationTopology.CreateAsync(Topology);
        try
        {
            // vmA has no libvirt domain to migrate: the operator pins it, so the plan must move vmB.
            await t.CtlA.OkAsync("domain-pin", "vmA");

            double sealedBefore;
            using (var traffic = new CancellationTokenSource())
            {
                Task loop = TransferLoopAsync(t, traffic.Token);
                // A whole window (5 s) of steady traffic first, so the rate is the sealed path's, as after the move.
                await Task.Delay(TimeSpan.FromSeconds(7));
                JsonElement plan = await UntilAsync(async () =>
                {
                    var p = await t.CtlA.JsonAsync("rebalance", "--dry-run");
                    return p.GetProperty("proposals").GetArrayLength() > 0 ? p : (JsonElement?)null;
                }, "rebalance --dry-run never proposed a move while vmA and vmB exchanged data across hosts");
                await traffic.CancelAsync();
                await loop;

                output.WriteLine(plan.GetRawText());
                JsonElement move = plan.GetProperty("proposals")[0];
                Assert.Equal(1, plan.GetProperty("proposals").GetArrayLength());
                Assert.Equal(("vmB", "hB", "hA"), (move.GetProperty("domain").GetString(), move.GetProperty("from").GetString(), move.GetProperty("to").GetString()));
                sealedBefore = move.GetProperty("bytesPerSecond").GetDouble();
                Assert.True(sealedBefore > 100_000, $"only {sealedBefore:0} B/s counted between vmA and vmB");
                JsonElement pair = plan.GetProperty("pairs")[0];
                Assert.Equal(("vmA", "vmB", 0.0), (pair.GetProperty("a").GetString(), pair.GetProperty("b").GetString(), pair.GetProperty("engine").GetDouble()));
            }

            long engineBefore = await EngineBytesOutAsync(t);
            var clock = Stopwatch.StartNew();
            JsonElement applied = await t.CtlA.JsonAsync("--timeout", "300", "rebalance", "--apply");
            output.WriteLine($"rebalance --apply returned after {clock.Elapsed.TotalSeconds:F1} s: {applied.GetRawText()}");
            JsonElement moved = Assert.Single(applied.GetProperty("moves").EnumerateArray());
            Assert.True(moved.GetProperty("moved").GetBoolean(), moved.GetRawText());
            Assert.Equal("running", DomainState(t.LibvirtA));

            // hA's overlayd now serves vmB's agent; vmA's document places vmB on hA; the engine carries the traffic.
            await UntilAsync(async () => (await t.CtlA.JsonAsync("channel-list")).EnumerateArray()
                .Any(c => c.GetProperty("domain").GetString() == "vmB" && c.GetProperty("connected").GetBoolean()) ? true : (bool?)null,
                "hA's overlayd never connected to vmB's channel");
            await ConfigApplied.WaitAsync(t.CtlA, t.AgentA);
            long engineAfter = await UntilAsync(async () =>
            {
                await TransferAsync(t, 512 << 10);
                long now = await EngineBytesOutAsync(t);
                return now - engineBefore > 256 << 10 ? now : (long?)null;
            }, "after the move, vmA's traffic to vmB never went through the engine");
            output.WriteLine($"vmA → vmB through the engine after the move: {engineAfter - engineBefore} bytes");

            // Over a fresh window the pair's traffic is on the engine, and there is nothing left to propose.
            JsonElement after;
            using (var traffic = new CancellationTokenSource(TimeSpan.FromSeconds(7)))
            {
                await TransferLoopAsync(t, traffic.Token);
                after = await t.CtlA.JsonAsync("rebalance", "--dry-run");
            }
            output.WriteLine(after.GetRawText());
            Assert.Equal(0, after.GetProperty("proposals").GetArrayLength());
            JsonElement pairAfter = after.GetProperty("pairs")[0];
            Assert.Equal(("hA", "hA"), (pairAfter.GetProperty("hostA").GetString(), pairAfter.GetProperty("hostB").GetString()));
            double engineRate = pairAfter.GetProperty("engine").GetDouble(), sealedRate = pairAfter.GetProperty("sealed").GetDouble();
            Assert.True(engineRate > 10 * sealedRate, $"after the move: {engineRate:0} B/s on the engine, {sealedRate:0} B/s sealed");
            output.WriteLine($"pair vmA-vmB: before the move {sealedBefore:0} B/s sealed; after it {engineRate:0} B/s engine, {sealedRate:0} B/s sealed");
        }
        catch
        {
            output.WriteLine(t.Logs());
            throw;
        }
    }

    private static async Task TransferLoopAsync(TwoHostMigrationTopology t, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            await TransferAsync(t, 512 << 10);
        }
    }

    private static async Task TransferAsync(TwoHostMigrationTopology t, int size)
    {
        var data = TcpTransfer.MakeData(size);
        var (sent, received) = await TcpTransfer.RunAsync(t.NsB, TwoHostMigrationTopology.Server, t.NsA, TwoHostMigrationTopology.Client, data, TimeSpan.FromSeconds(30));
        Assert.Equal(Convert.ToHexString(SHA256.HashData(sent)), Convert.ToHexString(SHA256.HashData(received)));
    }

    /// <summary>Bytes vmA's agent sent to vmB through the engine, as overlayd reads them (domain-stat).</summary>
    private static async Task<long> EngineBytesOutAsync(TwoHostMigrationTopology t)
    {
        JsonElement stat = await t.CtlA.JsonAsync("domain-stat", "vmA");
        foreach (var peer in stat.GetProperty("peers").EnumerateArray())
            if (peer.GetProperty("domain").GetString() == "vmB") return peer.GetProperty("engine").GetProperty("bytesOut").GetInt64();
        return 0;
    }

    private static string DomainState(LibvirtHost host) => host.Virsh("domstate", "vmB").Trim();

    private static Task<T> UntilAsync<T>(Func<Task<T?>> probe, string failure)
        where T : struct =>
        Poll.UntilValueAsync(probe, TimeSpan.FromSeconds(60), failure, interval: TimeSpan.FromMilliseconds(250));
}
