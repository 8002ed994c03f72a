using System.Net;
using OverlayKvm.HostDaemon.Hosting;
using OverlayKvm.HostDaemon.Libvirt;
using OverlayKvm.HostDaemon.Rebalance;
using OverlayKvm.TestSupport;

namespace OverlayKvm.HostDaemon.Tests.Rebalance;

/// <summary>Rebalance settings are checked at start with every error named; the migrator refuses a host it cannot reach.</summary>
public sealed class RebalanceSettingsTests
{
    [Fact]
    public void Validate_EveryBadSetting_ListedWithItsPath()
    {
        var result = new RebalanceOptionsValidator().Validate(null, new RebalanceOptions
        {
            SampleIntervalSeconds = 0,
            WindowSeconds = 1,
            MaxMovesPerHour = -1,
            MinBytesPerSecond = double.NaN,
            PlacementWaitSeconds = 0,
        });

        Assert.True(result.Failed);
        foreach (string field in new[] { "SampleIntervalSeconds", "WindowSeconds", "MaxMovesPerHour", "MinBytesPerSecond", "PlacementWaitSeconds" })
        {
            Assert.Contains(result.Failures!, f => f.StartsWith($"Rebalance:{field}:"));
        }
        Assert.True(new RebalanceOptionsValidator().Validate(null, new RebalanceOptions()).Succeeded);
    }

    [Fact]
    public async Task VirshMigrator_HostWithoutUriOrInventoryRecord_RefusedNamingTheSetting_NoVirshRun()
    {
        var store = new InMemoryOverlayStore();
        store.UpsertHost("hA", IPAddress.Parse("192.0.2.1"), 4);
        var migrator = new VirshDomainMigrator(store,
            new LocalHost(Microsoft.Extensions.Options.Options.Create(new DaemonOptions { HostName = "hA", HostAddress = "192.0.2.1" })),
            new StaticOptionsMonitor<LibvirtOptions>(new LibvirtOptions()));

        var e = await Assert.ThrowsAsync<DomainMigrationException>(() => migrator.MigrateAsync("vm1", "hA", "hX", CancellationToken.None));

        Assert.Contains("host hX", e.Message);
        Assert.Contains("Libvirt:PeerUris:hX", e.Message);
    }
}
