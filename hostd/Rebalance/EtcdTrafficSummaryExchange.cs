using System.Text.Json;
using Etcdserverpb;
using Google.Protobuf;
using Microsoft.Extensions.Options;
using OverlayKvm.Core.Cluster;
using OverlayKvm.Core.Store;
using OverlayKvm.HostDaemon.Store.Etcd;

namespace OverlayKvm.HostDaemon.Rebalance;

/// <summary>
/// A cluster (etcd store): each host puts its summary at <c>{prefix}traffic/HOST</c>, beside <c>alive/HOST</c> and
/// outside the versioned store records. Why not a store record: a summary changes every sample interval, and every
/// committed store change raises the store-wide version and makes every host rebuild every document; measurements
/// must not do that. Why not host-to-host HTTP: overlayd's API is a local unix socket only, and etcd already
/// connects the hosts with its own TLS and credentials. Readers skip summaries of hosts that are not alive (a dead
/// host's last summary stays in etcd until it comes back) and summaries older than twice the window.
/// </summary>
internal sealed class EtcdTrafficSummaryExchange(EtcdConnection etcd, IOptions<EtcdStoreOptions> store, IHostLiveness liveness, TimeProvider time)
    : ITrafficSummaryExchange
{
    /// <summary>A summary larger than this is not read (a host's agents fit in a few hundred kilobytes).</summary>
    public const int MaxSummaryBytes = 4 << 20;

    private string Prefix => (store.Value.Prefix.EndsWith('/') ? store.Value.Prefix : store.Value.Prefix + "/") + "traffic/";

    public async Task PublishAsync(HostTrafficSummary summary, CancellationToken cancellationToken)
    {
        byte[] value = JsonSerializer.SerializeToUtf8Bytes(summary, TrafficJsonContext.Default.HostTrafficSummary);
        await etcd.CallAsync("publish traffic summary", (client, deadline) => client.PutAsync(new PutRequest
        {
            Key = ByteString.CopyFromUtf8(Prefix + summary.Host),
            Value = ByteString.CopyFrom(value),
        }, deadline: deadline, cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

    public async Task<(IReadOnlyList<HostTrafficSummary> Summaries, IReadOnlyList<string> Notes)> ReadAllAsync(CancellationToken cancellationToken)
    {
        string prefix = Prefix;
        var range = await etcd.CallAsync("read traffic summaries", (client, deadline) =>
            client.GetRangeAsync(prefix, deadline: deadline, cancellationToken: cancellationToken)).ConfigureAwait(false);
        var summaries = new List<HostTrafficSummary>();
        var notes = new List<string>();
        DateTimeOffset now = time.GetUtcNow();
        foreach (var kv in range.Kvs)
        {
            string host = kv.Key.ToStringUtf8()[prefix.Length..];
            if (!liveness.IsAlive(host))
            {
                notes.Add($"host {host}: not alive, its traffic summary is ignored");
                continue;
            }
            if (kv.Value.Length > MaxSummaryBytes)
            {
                notes.Add($"host {host}: traffic summary of {kv.Value.Length} bytes, at most {MaxSummaryBytes}: ignored");
                continue;
            }
            HostTrafficSummary? s;
            try
            {
                s = JsonSerializer.Deserialize(kv.Value.Span, TrafficJsonContext.Default.HostTrafficSummary);
            }
            catch (JsonException ex)
            {
                notes.Add($"host {host}: traffic summary unreadable ({ex.Message}): ignored");
                continue;
            }
            if (s is null || s.Host != host || s.Rates.Count > HostTrafficSummary.MaxRates)
            {
                notes.Add($"host {host}: traffic summary names another host or holds more than {HostTrafficSummary.MaxRates} rates: ignored");
                continue;
            }
            if (now - s.At > TimeSpan.FromSeconds(2 * Math.Max(1, s.WindowSeconds)) + TimeSpan.FromMinutes(1))
            {
                notes.Add($"host {host}: traffic summary from {s.At:u} is stale: ignored");
                continue;
            }
            summaries.Add(s);
        }
        return (summaries, notes);
    }
}
