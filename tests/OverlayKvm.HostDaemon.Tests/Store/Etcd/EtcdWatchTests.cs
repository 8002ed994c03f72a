using System.Collections.Concurrent;
using System.Net;
using OverlayKvm.Core.Model;
using OverlayKvm.HostDaemon.Store.Etcd;

namespace OverlayKvm.HostDaemon.Tests.Store.Etcd;

/// <summary>
/// The watch behind every daemon's change notification: a change made through one daemon's store raises
/// Changed on the other's, in order, none lost; a watch whose resume revision was compacted resynchronises fully.
/// </summary>
[Collection("etcd contract")]
public sealed class EtcdWatchTests(EtcdContractCluster etcd) : IDisposable
{
    private readonly EtcdStoreHarness _harness = new(etcd.Cluster);

    public void Dispose() => _harness.Dispose();

    [Fact]
    public void ChangeThroughOneDaemon_RaisesChangedOnTheOther_EveryVersionInOrder()
    {
        var writer = _harness.Open();
        var watcher = (EtcdOverlayStore)_harness.Open();
        var heard = new ConcurrentQueue<long>();
        watcher.Changed += heard.Enqueue;

        writer.DefineGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed);
        for (var i = 0; i < 20; i++)
        {
            writer.DefineApplication("web", $"a{i}", null, "vm1", []);
        }

        _harness.WaitForVersion(watcher, 21);
        Assert.Equal(Enumerable.Range(1, 21).Select(v => (long)v), heard);
        Assert.Equal(20, watcher.ListApplications("web").Count);
        Assert.Null(watcher.StaleReason);
    }

    [Fact]
    public void ResumeRevisionCompacted_FullResync_NothingLost_WatchKeepsWorking()
    {
        var writer = _harness.Open();
        var watcher = (EtcdOverlayStore)_harness.Open();
        writer.DefineGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed);
        for (var i = 0; i < 5; i++)
        {
            writer.DefineApplication("web", $"a{i}", null, "vm1", []);
        }

        _harness.WaitForVersion(watcher, 6);
        var revision = long.Parse(etcd.Cluster.Etcdctl("get", _harness.Prefix + "meta/version", "--write-out=fields")
            .Split('\n').First(l => l.StartsWith("\"Revision\"", StringComparison.Ordinal)).Split(':')[1].Trim(), System.Globalization.CultureInfo.InvariantCulture);
        etcd.Cluster.Etcdctl("compact", revision.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var resyncs = watcher.Mirror.Resyncs;

        // As a daemon coming back after a long disconnect: its resume point is gone.
        watcher.Mirror.WatchFrom(2);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (watcher.Mirror.Resyncs == resyncs && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(10);
        }

        Assert.True(watcher.Mirror.Resyncs > resyncs, "a compacted resume point must lead to a full resync");
        writer.DefineApplication("web", "after", null, "vm1", []);
        _harness.WaitForVersion(watcher, 7);
        Assert.Equal(6, watcher.ListApplications("web").Count);
        Assert.NotNull(watcher.GetApplication("web", "after"));
    }
}
