using System.Collections.Concurrent;
using System.Net;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.Store;
using OverlayKvm.Tests.Etcd;
using Xunit.Abstractions;

namespace OverlayKvm.HostDaemon.Tests.Store.Etcd;

/// <summary>
/// Issue 11, Show 3 (first half): one etcd member killed under 8 concurrent writers on 4 daemons' stores: every
/// acknowledged define is stored with the address it was acknowledged with, and no address is given twice.
/// Own cluster (clients 32388-32390): this test kills a member.
/// </summary>
public sealed class EtcdFailoverTests(ITestOutputHelper output)
{
    private const int Writers = 8;
    private const int DefinesPerWriter = 30;

    [Fact]
    public void MemberKilledUnderEightWriters_NoAcknowledgedWriteLost_NoAddressTwice()
    {
        using var cluster = new EtcdCluster(32388);
        var harness = new EtcdStoreHarness(cluster);
        try
        {
            var stores = Enumerable.Range(0, Writers / 2).Select(_ => harness.Open()).ToArray();
            stores[0].DefineGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed);
            foreach (var store in stores)
            {
                harness.WaitForVersion(store, 1);
            }

            var acknowledged = new ConcurrentDictionary<string, IPAddress>();
            var unavailable = 0;
            var done = 0;
            using var start = new Barrier(Writers + 1);
            var failures = new ConcurrentQueue<Exception>();
            var threads = Enumerable.Range(0, Writers).Select(w => new Thread(() =>
            {
                try
                {
                    start.SignalAndWait();
                    for (var i = 0; i < DefinesPerWriter; i++)
                    {
                        var name = $"w{w}-{i}";
                        for (var attempt = 0; ; attempt++)
                        {
                            try
                            {
                                acknowledged[name] = stores[w % stores.Length].DefineApplication("web", name, null, $"vm{w}", []).Address;
                                break;
                            }
                            catch (StoreUnavailableException) when (attempt < 20)
                            {
                                // Not acknowledged: the outcome is unknown, so ask again (a commit shows up as "already defined").
                                Interlocked.Increment(ref unavailable);
                            }
                            catch (ModelValidationException e) when (e.IsConflict && e.Message.Contains("is already defined", StringComparison.Ordinal))
                            {
                                break;
                            }
                        }

                        Interlocked.Increment(ref done);
                    }
                }
                catch (Exception e)
                {
                    failures.Enqueue(e);
                }
            })).ToList();
            threads.ForEach(t => t.Start());
            start.SignalAndWait();

            // Kill a member once the writers are well under way.
            while (Volatile.Read(ref done) < Writers * DefinesPerWriter / 4 && failures.IsEmpty)
            {
                Thread.Sleep(5);
            }

            cluster.Kill(0);
            output.WriteLine($"member m0 killed after {Volatile.Read(ref done)} defines");
            threads.ForEach(t => t.Join());
            Assert.Empty(failures);

            // A daemon that starts now reads everything from etcd: what it sees is what is really stored.
            var fresh = harness.Open();
            var stored = fresh.ListApplications("web").ToDictionary(a => a.Name, a => a.Address);
            output.WriteLine($"{acknowledged.Count} acknowledged, {stored.Count} stored, {unavailable} unavailable answers during failover, store version {fresh.CurrentVersion()}");
            foreach (var (name, address) in acknowledged)
            {
                Assert.True(stored.TryGetValue(name, out var kept), $"acknowledged app {name} lost");
                Assert.Equal(address, kept);
            }

            Assert.Equal(Writers * DefinesPerWriter, stored.Count);
            Assert.Equal(stored.Count, stored.Values.Distinct().Count());
            Assert.Equal(1 + stored.Count, fresh.CurrentVersion());
        }
        finally
        {
            harness.Dispose();
        }
    }
}
