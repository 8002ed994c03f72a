using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OverlayKvm.Core.Api;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.Store;
using OverlayKvm.HostDaemon.Placement;

namespace OverlayKvm.HostDaemon.Rebalance;

/// <summary>
/// <c>rebalance --dry-run</c> and <c>--apply</c>: reads the store and every host's traffic summary, asks the
/// <see cref="RebalancePlanner"/>, and for apply performs the proposals one at a time through the
/// <see cref="IDomainMigrator"/>, each followed by a wait until the store places the domain on its destination (the
/// destination's overlayd writes that), so the next move is checked against the new placement. Only one apply runs
/// at a time; the first failure stops it.
/// </summary>
internal sealed partial class RebalanceRunner(
    IOverlayStore store,
    PlacementPlanner placement,
    ITrafficSummaryExchange exchange,
    IDomainMigrator migrator,
    RebalanceLedger ledger,
    IOptionsMonitor<RebalanceOptions> options,
    TimeProvider time,
    ILogger<RebalanceRunner> logger)
{
    private readonly SemaphoreSlim _applying = new(1, 1);

    public async Task<RebalancePlanView> PlanAsync(CancellationToken cancellationToken)
    {
        var o = options.CurrentValue;
        var (summaries, notes) = await exchange.ReadAllAsync(cancellationToken).ConfigureAwait(false);
        var allNotes = new List<string>(notes);
        if (summaries.Count == 0)
        {
            allNotes.Add("no traffic summary yet: agents are sampled every Rebalance:SampleIntervalSeconds and rates need two samples");
        }
        var domains = store.ListDomains();
        var byName = new Dictionary<string, DomainRecord>(StringComparer.Ordinal);
        foreach (var d in domains)
        {
            byName[d.Name] = d;
        }
        var pairs = PairTraffic.Combine(summaries, byName, store.ListApplications(), store.ListEngineDisabledGroups());
        int left = ledger.MovesLeft(o.MaxMovesPerHour);
        if (left == 0)
        {
            allNotes.Add($"the hourly bound is reached (Rebalance:MaxMovesPerHour = {o.MaxMovesPerHour}): no move proposed");
        }
        double window = 0;
        foreach (var s in summaries)
        {
            window = Math.Max(window, s.WindowSeconds);
        }
        var proposals = RebalancePlanner.Plan(new RebalanceInput(domains, placement.Inventory(), store.ListPinnedDomains(), pairs, left, o.MinBytesPerSecond));
        return new RebalancePlanView(proposals, pairs, left, window, allNotes);
    }

    public async Task<RebalanceApplyView> ApplyAsync(CancellationToken cancellationToken)
    {
        if (!await _applying.WaitAsync(0, cancellationToken).ConfigureAwait(false))
        {
            throw new ModelValidationException("rebalance", "--apply is already running on this host") { IsConflict = true };
        }
        try
        {
            var plan = await PlanAsync(cancellationToken).ConfigureAwait(false);
            var results = new List<RebalanceMoveResult>();
            foreach (var p in plan.Proposals)
            {
                if (ledger.MovesLeft(options.CurrentValue.MaxMovesPerHour) == 0)
                {
                    break;
                }
                var clock = Stopwatch.StartNew();
                try
                {
                    Log.Migrating(logger, p.Domain, p.From, p.To, p.BytesPerSecond);
                    await migrator.MigrateAsync(p.Domain, p.From, p.To, cancellationToken).ConfigureAwait(false);
                    ledger.Record();
                    await WaitPlacedAsync(p.Domain, p.To, cancellationToken).ConfigureAwait(false);
                    results.Add(new RebalanceMoveResult(p.Domain, p.From, p.To, p.BytesPerSecond, true, clock.Elapsed.TotalSeconds, null));
                }
                catch (DomainMigrationException ex)
                {
                    Log.Failed(logger, p.Domain, ex.Message);
                    results.Add(new RebalanceMoveResult(p.Domain, p.From, p.To, p.BytesPerSecond, false, clock.Elapsed.TotalSeconds, ex.Message));
                    break;
                }
            }
            return new RebalanceApplyView(results, plan);
        }
        finally
        {
            _applying.Release();
        }
    }

    private async Task WaitPlacedAsync(string domain, string host, CancellationToken cancellationToken)
    {
        var deadline = time.GetUtcNow() + TimeSpan.FromSeconds(options.CurrentValue.PlacementWaitSeconds);
        while (store.GetDomain(domain)?.Host != host)
        {
            if (time.GetUtcNow() >= deadline)
            {
                throw new DomainMigrationException(
                    $"domain {domain}: migrated, but the store did not place it on {host} within {options.CurrentValue.PlacementWaitSeconds} s (is {host}'s overlayd following its libvirt events?)");
            }
            await Task.Delay(TimeSpan.FromMilliseconds(200), time, cancellationToken).ConfigureAwait(false);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "rebalance: migrating {Domain} from {From} to {To} ({BytesPerSecond:0} B/s to move onto the engine)")]
        public static partial void Migrating(ILogger logger, string domain, string from, string to, double bytesPerSecond);

        [LoggerMessage(2, LogLevel.Warning, "rebalance: migration of {Domain} failed, apply stopped: {Reason}")]
        public static partial void Failed(ILogger logger, string domain, string reason);
    }
}
