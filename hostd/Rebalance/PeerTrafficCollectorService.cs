using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OverlayKvm.Core.Store;
using OverlayKvm.HostDaemon.Channel;
using OverlayKvm.HostDaemon.Hosting;

namespace OverlayKvm.HostDaemon.Rebalance;

/// <summary>
/// Every Rebalance:SampleIntervalSeconds, asks the agent of each domain this host runs for its counters (the same
/// request as <c>domain-stat</c>, validated by <see cref="AgentCounterQueries"/>), keeps the per-peer byte totals in
/// the <see cref="PeerTrafficWindow"/>, and publishes this host's rates for the others. An agent that cannot answer
/// is skipped for that round (it may be booting); its older samples stay.
/// </summary>
internal sealed partial class PeerTrafficCollectorService(
    IOverlayStore store,
    ChannelSupervisorService channels,
    PeerTrafficWindow samples,
    ITrafficSummaryExchange exchange,
    LocalHost host,
    IOptionsMonitor<RebalanceOptions> options,
    TimeProvider time,
    ILogger<PeerTrafficCollectorService> logger) : BackgroundService
{
    /// <summary>How long one agent gets per sample: a round must not outlast its interval because of one slow guest.</summary>
    private static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(2);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await SampleOnceAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (StoreUnavailableException ex)
            {
                Log.PublishFailed(logger, ex.Message);
            }
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(options.CurrentValue.SampleIntervalSeconds), time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public async Task SampleOnceAsync(CancellationToken cancellationToken)
    {
        var o = options.CurrentValue;
        var span = TimeSpan.FromSeconds(o.WindowSeconds);
        var local = new HashSet<string>(StringComparer.Ordinal);
        foreach (var d in store.ListDomains())
        {
            if (d.Host == host.Name && !d.Stopped)
            {
                local.Add(d.Name);
            }
        }
        samples.Retain(local);
        foreach (string domain in local)
        {
            if (channels.Client(domain) is not { } client)
            {
                continue;
            }
            try
            {
                var counters = await client.QueryCountersAsync(AnswerTimeout, cancellationToken).ConfigureAwait(false);
                samples.Record(domain, time.GetUtcNow(), counters, span);
            }
            catch (AgentUnavailableException ex)
            {
                Log.Skipped(logger, domain, ex.Message);
            }
        }
        var (rates, seconds) = samples.Rates();
        await exchange.PublishAsync(new HostTrafficSummary(host.Name, time.GetUtcNow(), seconds, rates), cancellationToken).ConfigureAwait(false);
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Debug, "traffic sample of domain {Domain} skipped: {Reason}")]
        public static partial void Skipped(ILogger logger, string domain, string reason);

        [LoggerMessage(2, LogLevel.Warning, "traffic summary not published: {Reason}")]
        public static partial void PublishFailed(ILogger logger, string reason);
    }
}
