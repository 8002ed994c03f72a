using System.Net;
using OverlayKvm.Core.Model;
using OverlayKvm.HostDaemon.Placement;
using OverlayKvm.HostDaemon.Rebalance;
using OverlayKvm.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace OverlayKvm.HostDaemon.Tests.Rebalance;

/// <summary><c>rebalance --apply</c>: one move at a time through the migrator, the hourly bound across calls, the first failure stops.</summary>
public sealed class RebalanceRunnerTests
{
    private readonly InMemoryOverlayStore _store = new();
    private readonly Microsoft.Extensions.Time.Testing.FakeTimeProvider _time = TestClock.Create();
    private readonly LocalTrafficSummaryExchange _exchange = new();
    private readonly FakeMigrator _migrator;

    public RebalanceRunnerTests()
    {
        _migrator = new FakeMigrator(_store);
        _store.UpsertHost("hA", IPAddress.Parse("192.0.2.1"), 4);
        _store.UpsertHost("hB", IPAddress.Parse("192.0.2.2"), 4);
        _store.DefineGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed);
        foreach (var (app, vm, host) in new[] { ("a1", "a1", "hA"), ("b1", "b1", "hB"), ("a2", "a2", "hA"), ("b2", "b2", "hB") })
        {
            _store.DefineApplication("web", app, null, vm, []);
            _store.UpsertDomain(vm, null, host, null);
        }
    }

    private RebalanceRunner Runner(int maxPerHour) => new(_store,
        new PlacementPlanner(_store, new StaticOptionsMonitor<PlacementOptions>(new PlacementOptions { HostName = "hA" })),
        _exchange, _migrator, new RebalanceLedger(_time), new StaticOptionsMonitor<RebalanceOptions>(new RebalanceOptions { MaxMovesPerHour = maxPerHour, PlacementWaitSeconds = 1 }),
        _time, NullLogger<RebalanceRunner>.Instance);

    private Task PublishAsync() => _exchange.PublishAsync(new HostTrafficSummary("hA", _time.GetUtcNow(), 60,
        [new("a1", "b1", 90_000, 0), new("a2", "b2", 30_000, 0)]), CancellationToken.None);

    [Fact]
    public async Task DryRun_ProposesAndMovesNothing_Apply_MovesOneAtATimeUpToTheHourlyBound()
    {
        await PublishAsync();
        var runner = Runner(maxPerHour: 1);

        var plan = await runner.PlanAsync(CancellationToken.None);
        var proposal = Assert.Single(plan.Proposals);
        Assert.Equal(("a1", "hA", "hB", 90_000.0), (proposal.Domain, proposal.From, proposal.To, proposal.BytesPerSecond));
        Assert.Empty(_migrator.Calls);

        var applied = await runner.ApplyAsync(CancellationToken.None);
        var moved = Assert.Single(applied.Moves);
        Assert.True(moved.Moved, moved.Error);
        Assert.Equal(["a1 hA->hB"], _migrator.Calls);
        Assert.Equal("hB", _store.GetDomain("a1")!.Host);

        // The bound holds across calls until an hour has passed.
        await PublishAsync();
        var again = await runner.ApplyAsync(CancellationToken.None);
        Assert.Empty(again.Moves);
        Assert.Equal(0, again.Plan.MovesLeftThisHour);
        Assert.Contains(again.Plan.Notes, n => n.Contains("hourly bound"));
        _time.Advance(TimeSpan.FromMinutes(61));
        await PublishAsync();
        Assert.Single((await runner.ApplyAsync(CancellationToken.None)).Moves);
        Assert.Equal(2, _migrator.Calls.Count);
    }

    [Fact]
    public async Task Apply_FirstFailureStopsAndIsReported_NothingCountedAgainstTheBound()
    {
        await PublishAsync();
        _migrator.Fail = "libvirt: Requested operation is not valid: migration with shmem device is not supported";
        var runner = Runner(maxPerHour: 5);

        var applied = await runner.ApplyAsync(CancellationToken.None);

        var failed = Assert.Single(applied.Moves);
        Assert.False(failed.Moved);
        Assert.Contains("shmem", failed.Error);
        Assert.Equal(2, applied.Plan.Proposals.Count);
        Assert.Equal(5, (await runner.PlanAsync(CancellationToken.None)).MovesLeftThisHour);
        Assert.Equal("hA", _store.GetDomain("a1")!.Host);
    }

    [Fact]
    public async Task Plan_NoSummaryYet_SaysSo()
    {
        var plan = await Runner(2).PlanAsync(CancellationToken.None);
        Assert.Empty(plan.Proposals);
        Assert.Contains(plan.Notes, n => n.Contains("no traffic summary yet"));
    }

    /// <summary>Records calls and, as the destination's overlayd would on the arrival event, moves the domain in the store.</summary>
    private sealed class FakeMigrator(InMemoryOverlayStore store) : IDomainMigrator
    {
        public List<string> Calls { get; } = [];

        public string? Fail { get; set; }

        public Task MigrateAsync(string domain, string fromHost, string toHost, CancellationToken cancellationToken)
        {
            Calls.Add($"{domain} {fromHost}->{toHost}");
            if (Fail is not null) throw new DomainMigrationException($"domain {domain}: {Fail}");
            store.UpsertDomain(domain, null, toHost, null);
            return Task.CompletedTask;
        }
    }
}
