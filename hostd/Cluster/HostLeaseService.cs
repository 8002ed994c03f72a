using Etcdserverpb;
using Google.Protobuf;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OverlayKvm.Core.Store;
using OverlayKvm.HostDaemon.Hosting;
using OverlayKvm.HostDaemon.Store.Etcd;

namespace OverlayKvm.HostDaemon.Cluster;

/// <summary>
/// Keeps this host registered as alive in a cluster: grants an etcd lease of <see cref="HostLeaseOptions.LeaseTtlSeconds"/>,
/// puts <c>alive/HOST</c> (name, underlay address, capacity) on it, and renews it every third of the TTL. When etcd says
/// the lease is gone (TTL 0: this daemon was stopped too long, or etcd lost quorum longer than the TTL) it registers
/// again at once, so the host comes back by itself. A stopped overlayd does not revoke its lease: a restart inside the
/// TTL goes unnoticed by the other hosts, and a crash (kill -9) expires like any other silence.
/// </summary>
internal sealed partial class HostLeaseService(
    EtcdConnection etcd,
    IOptions<EtcdStoreOptions> store,
    IOptions<HostLeaseOptions> options,
    LocalHost host,
    TimeProvider time,
    ILogger<HostLeaseService> logger) : BackgroundService
{
    private long _lease;

    /// <summary>The lease this host is registered under; 0 while not registered.</summary>
    public long Lease => Interlocked.Read(ref _lease);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var ttl = options.Value.LeaseTtlSeconds;
        var renewEvery = TimeSpan.FromMilliseconds(ttl * 1000 / 3);
        var retry = TimeSpan.FromMilliseconds(Math.Min(1000, ttl * 1000 / 4));
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (Lease == 0)
                {
                    Interlocked.Exchange(ref _lease, await RegisterAsync(ttl, stoppingToken).ConfigureAwait(false));
                    Log.Registered(logger, host.Name, host.Address.ToString(), Lease, ttl);
                }

                var left = await KeepAliveAsync(Lease, stoppingToken).ConfigureAwait(false);
                if (left <= 0)
                {
                    Log.Expired(logger, host.Name, Lease);
                    Interlocked.Exchange(ref _lease, 0);
                    continue; // register again now: every second away is a second peers drop our traffic
                }

                await Task.Delay(renewEvery, time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (StoreUnavailableException ex)
            {
                // etcd unreachable: keep trying; if the lease outlives the outage nothing changes for anybody.
                Log.Unavailable(logger, host.Name, ex.Message);
                await DelayQuietly(retry, stoppingToken).ConfigureAwait(false);
            }
        }
    }

    private async Task<long> RegisterAsync(int ttl, CancellationToken ct)
    {
        var grant = await etcd.CallAsync("lease grant", (client, deadline) =>
            client.LeaseGrantAsync(new LeaseGrantRequest { TTL = ttl }, deadline: deadline, cancellationToken: ct)).ConfigureAwait(false);
        var record = new AliveRecord(host.Name, host.Address.ToString(), host.Capacity, time.GetUtcNow(), grant.ID);
        var value = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(record, AliveJsonContext.Default.AliveRecord);
        await etcd.CallAsync("register host", (client, deadline) => client.PutAsync(new PutRequest
        {
            Key = ByteString.CopyFromUtf8(AliveKeys.For(store.Value.Prefix, host.Name)),
            Value = ByteString.CopyFrom(value),
            Lease = grant.ID,
        }, deadline: deadline, cancellationToken: ct)).ConfigureAwait(false);
        return grant.ID;
    }

    /// <summary>One keep-alive round trip: the TTL etcd granted anew, 0 when the lease no longer exists.</summary>
    private async Task<long> KeepAliveAsync(long lease, CancellationToken ct)
    {
        return await etcd.CallAsync("lease keep-alive", async (client, deadline) =>
        {
            long granted = -1;
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(deadline - DateTime.UtcNow);
            try
            {
                await client.LeaseKeepAlive(new LeaseKeepAliveRequest { ID = lease }, r => granted = r.TTL, timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                throw new IOException($"no keep-alive answer for lease {lease:x} before the deadline");
            }

            if (granted < 0) throw new IOException($"etcd closed the keep-alive stream of lease {lease:x} without an answer");
            return granted;
        }).ConfigureAwait(false);
    }

    private static async Task DelayQuietly(TimeSpan delay, CancellationToken ct)
    {
        try
        {
            await Task.Delay(delay, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // stopping
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "host {Host} ({Address}) registered alive under lease {Lease:x}, TTL {Ttl} s")]
        public static partial void Registered(ILogger logger, string host, string address, long lease, int ttl);

        [LoggerMessage(2, LogLevel.Warning, "host {Host}: lease {Lease:x} expired; registering again")]
        public static partial void Expired(ILogger logger, string host, long lease);

        [LoggerMessage(3, LogLevel.Warning, "host {Host}: cannot renew its registration: {Reason}")]
        public static partial void Unavailable(ILogger logger, string host, string reason);
    }
}
