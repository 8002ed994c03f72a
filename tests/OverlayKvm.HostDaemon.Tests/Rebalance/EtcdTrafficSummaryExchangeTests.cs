using Etcdserverpb;
using Google.Protobuf;
using Microsoft.Extensions.Options;
using OverlayKvm.HostDaemon.Rebalance;
using OverlayKvm.HostDaemon.Store.Etcd;
using OverlayKvm.HostDaemon.Tests.Store.Etcd;
using OverlayKvm.TestSupport;

namespace OverlayKvm.HostDaemon.Tests.Rebalance;

/// <summary>
/// Issue 15: hosts share their traffic summaries at <c>traffic/HOST</c> in etcd; a reader takes live, fresh, bounded
/// summaries that name their own host, and says why it left the others out. The store's version does not move.
/// </summary>
[Collection("etcd contract")]
public sealed class EtcdTrafficSummaryExchangeTests(EtcdContractCluster etcd) : IDisposable
{
    private readonly string _prefix = $"/rb-test-{Guid.NewGuid():N}/";
    private readonly Microsoft.Extensions.Time.Testing.FakeTimeProvider _time = TestClock.Create();
    private readonly EtcdConnection _connection = new(new EtcdStoreOptions { Endpoints = etcd.Cluster.Endpoints });

    private EtcdTrafficSummaryExchange Exchange(params string[] alive) =>
        new(_connection, Options.Create(new EtcdStoreOptions { Endpoints = etcd.Cluster.Endpoints, Prefix = _prefix }), new FixedHostLiveness(alive), _time);

    [Fact]
    public async Task PublishedByTwoHosts_ReadByEither_DeadStaleForgedOrOversizedLeftOutWithAReason()
    {
        var a = Exchange("hA", "hB", "hD", "hE");
        await a.PublishAsync(new HostTrafficSummary("hA", _time.GetUtcNow(), 60, [new("vm1", "vm2", 9_000, 0)]), CancellationToken.None);
        await Exchange("hA", "hB").PublishAsync(new HostTrafficSummary("hB", _time.GetUtcNow(), 60, [new("vm2", "vm1", 10_000, 0)]), CancellationToken.None);
        await a.PublishAsync(new HostTrafficSummary("hC", _time.GetUtcNow(), 60, []), CancellationToken.None); // hC is not alive
        await a.PublishAsync(new HostTrafficSummary("hD", _time.GetUtcNow() - TimeSpan.FromMinutes(10), 60, []), CancellationToken.None); // stale
        await PutRawAsync("hE", """{"host":"hA","at":"2026-11-25T12:00:00+00:00","windowSeconds":60,"rates":[]}"""); // names another host
        await PutRawAsync("hF", "{not json");

        var (summaries, notes) = await Exchange("hA", "hB", "hD", "hE", "hF").ReadAllAsync(CancellationToken.None);

        Assert.Equal(["hA", "hB"], summaries.Select(s => s.Host).Order());
        Assert.Equal(10_000, summaries.Single(s => s.Host == "hB").Rates[0].Sealed);
        Assert.Contains(notes, n => n.StartsWith("host hC: not alive"));
        Assert.Contains(notes, n => n.StartsWith("host hD:") && n.Contains("stale"));
        Assert.Contains(notes, n => n.StartsWith("host hE:") && n.Contains("names another host"));
        Assert.Contains(notes, n => n.StartsWith("host hF:") && n.Contains("unreadable"));
        Assert.Equal(4, notes.Count);
    }

    private Task PutRawAsync(string host, string json) =>
        _connection.CallAsync("test put", (client, deadline) => client.PutAsync(new PutRequest
        {
            Key = ByteString.CopyFromUtf8(_prefix + "traffic/" + host),
            Value = ByteString.CopyFromUtf8(json),
        }, deadline: deadline));

    public void Dispose() => _connection.Dispose();
}
