using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OverlayKvm.Core.Cluster;
using OverlayKvm.Core.Store;
using OverlayKvm.HostDaemon.Hosting;
using OverlayKvm.HostDaemon.Store.Etcd;

namespace OverlayKvm.HostDaemon.Cluster;

/// <summary>
/// Which hosts hold a live lease: the keys under <c>alive/</c>, read every <see cref="HostLeaseOptions.LivenessPollMilliseconds"/>.
/// A range read of a handful of keys is cheap and needs no resume logic, and etcd itself expires leases only about
/// twice a second, so a watch would not learn of a dead host sooner. This host always counts as alive (its own
/// domains are served whatever etcd says). Before the first read, and while etcd cannot be reached, the last known
/// set stands (fail-static: an etcd outage must not cut traffic between hosts that are all still running).
/// </summary>
internal sealed partial class EtcdHostLiveness(
    EtcdConnection etcd,
    IOptions<EtcdStoreOptions> store,
    IOptions<HostLeaseOptions> options,
    LocalHost host,
    TimeProvider time,
    ILogger<EtcdHostLiveness> logger) : BackgroundService, IHostLiveness
{
    // Null until the first successful read: every host counts as alive until then.
    private volatile HashSet<string>? _alive;

    public event Action? Changed;

    public bool IsAlive(string name) =>
        string.Equals(name, host.Name, StringComparison.Ordinal) || _alive is not { } alive || alive.Contains(name);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var prefix = AliveKeys.Prefix(store.Value.Prefix);
        var poll = TimeSpan.FromMilliseconds(options.Value.LivenessPollMilliseconds);
        bool reportedUnavailable = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var range = await etcd.CallAsync("read live hosts", (client, deadline) =>
                    client.GetRangeAsync(prefix, deadline: deadline, cancellationToken: stoppingToken)).ConfigureAwait(false);
                var now = new HashSet<string>(StringComparer.Ordinal);
                foreach (var kv in range.Kvs) now.Add(kv.Key.ToStringUtf8()[prefix.Length..]);
                Apply(now);
                reportedUnavailable = false;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (StoreUnavailableException ex)
            {
                if (!reportedUnavailable) Log.Stale(logger, ex.Message);
                reportedUnavailable = true;
            }

            try
            {
                await Task.Delay(poll, time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private void Apply(HashSet<string> now)
    {
        var before = _alive;
        if (before is not null && before.SetEquals(now)) return;
        _alive = now;
        foreach (var name in now)
            if (before is null || !before.Contains(name)) Log.Up(logger, name);
        if (before is not null)
            foreach (var name in before)
                if (!now.Contains(name)) Log.Down(logger, name);
        Changed?.Invoke();
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "host {Host} is alive")]
        public static partial void Up(ILogger logger, string host);

        [LoggerMessage(2, LogLevel.Warning, "host {Host} is down (its lease expired): its domains are unreachable")]
        public static partial void Down(ILogger logger, string host);

        [LoggerMessage(3, LogLevel.Warning, "cannot read which hosts are alive; keeping the last known set: {Reason}")]
        public static partial void Stale(ILogger logger, string reason);
    }
}
