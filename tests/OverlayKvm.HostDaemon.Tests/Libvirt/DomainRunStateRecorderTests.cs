using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.Store;
using OverlayKvm.HostDaemon.Hosting;
using OverlayKvm.HostDaemon.Libvirt;
using OverlayKvm.HostDaemon.Store;
using OverlayKvm.HostDaemon.Tests.Store;
using OverlayKvm.TestSupport;

namespace OverlayKvm.HostDaemon.Tests.Libvirt;

/// <summary>
/// Issue 15: libvirt lifecycle events of this host's domains reach the store as run states (destroy/undefine →
/// stopped, start → running, arrival by migration → moved here), and only the domain's own host writes them.
/// </summary>
[Collection(TestDriverCollection.Name)]
public sealed class DomainRunStateRecorderTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);
    private readonly TempStore _temp = new();
    private readonly DomainLifecycleFeed _feed = new();
    private readonly LibvirtOptions _options = new();
    private readonly LibvirtConnectionHolder _holder = new();
    private SqliteOverlayStore _store = null!;
    private DomainRunStateRecorder _recorder = null!;
    private long _sequence;

    public async Task InitializeAsync()
    {
        _store = _temp.Open();
        _store.DefineGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed);
        _store.DefineApplication("web", "client", null, "vm1", []);
        _store.DefineApplication("web", "server", null, "vm2", []);
        _store.UpsertDomain("far", null, "host-b", IPAddress.Parse("192.0.2.9"));
        var host = new LocalHost(Options.Create(new DaemonOptions { HostName = "host-a", HostAddress = "192.0.2.100" }));
        _recorder = new DomainRunStateRecorder(_feed, _store, _holder, new StaticOptionsMonitor<LibvirtOptions>(_options), NullLogger<DomainRunStateRecorder>.Instance, host);
        await _recorder.StartAsync(CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await _recorder.StopAsync(CancellationToken.None);
        _recorder.Dispose();
        _holder.Swap(null);
        _temp.Dispose();
    }

    [Fact]
    public async Task Destroyed_ThisHostsDomainStopped_StartedAgain_Running()
    {
        Publish("vm2", DomainEventKind.Stopped, detail: 1); // destroyed
        await UntilAsync(() => _store.GetDomain("vm2")!.Stopped, "vm2 never recorded stopped after 'destroyed'");

        Publish("vm2", DomainEventKind.Started, detail: 0); // booted
        await UntilAsync(() => !_store.GetDomain("vm2")!.Stopped, "vm2 never recorded running after 'booted'");
    }

    [Fact]
    public async Task OtherHostsDomain_Stopped_NotRecordedHere()
    {
        var before = _store.GetDomain("far");
        Publish("far", DomainEventKind.Stopped, detail: 1);
        Publish("vm1", DomainEventKind.Crashed, detail: 0); // events are handled in order: once vm1 is stopped, far was seen
        await UntilAsync(() => _store.GetDomain("vm1")!.Stopped, "vm1 never recorded stopped after 'crashed'");

        Assert.Equal(before, _store.GetDomain("far"));
    }

    [Fact]
    public async Task MigratedAway_NotStopped_ArrivalMovesTheDomainHere()
    {
        Publish("vm2", DomainEventKind.Stopped, detail: 3); // migrated: the destination records it
        Publish("far", DomainEventKind.Started, detail: 1); // migrated in from host-b
        await UntilAsync(() => _store.GetDomain("far")!.Host == "host-a", "far never moved to host-a after arriving by migration");

        Assert.False(_store.GetDomain("vm2")!.Stopped);
        Assert.False(_store.GetDomain("far")!.Stopped);
        Assert.Equal(IPAddress.Parse("192.0.2.9"), _store.GetDomain("far")!.Address);
    }

    [Fact]
    public async Task Undefined_AppsKeptUnreachable_OrRemovedBySetting()
    {
        Publish("vm1", DomainEventKind.Undefined, detail: 0);
        await UntilAsync(() => _store.GetDomain("vm1")!.Stopped, "vm1 never recorded stopped after undefine");
        Assert.NotNull(_store.GetApplication("web", "client"));

        _options.RemoveAppsOnUndefine = true;
        Publish("vm2", DomainEventKind.Undefined, detail: 0);
        await UntilAsync(() => _store.GetApplication("web", "server") is null, "server not removed with RemoveAppsOnUndefine");
        Assert.True(_store.GetDomain("vm2")!.Stopped);
    }

    [Fact]
    public async Task Reconnected_StateReadBackFromLibvirt()
    {
        // The test driver always runs a domain named "test": recorded stopped (an event missed), it is set running.
        _store.UpsertDomain("test", null, "host-a", IPAddress.Parse("192.0.2.50"));
        _store.SetDomainStopped("test", true);
        using var connection = LibvirtConnection.Open(TestDomains.Uri);
        _holder.Swap(connection);

        _feed.Publish(new ReconcileReport(1, ["test"], [], []));
        await UntilAsync(() => !_store.GetDomain("test")!.Stopped, "'test' still recorded stopped after the reconcile");
        _holder.Swap(null);
    }

    private void Publish(string domain, DomainEventKind kind, int detail) =>
        _feed.Publish(new DomainLifecycleEvent(++_sequence, domain, Guid.NewGuid(), kind, detail, DateTimeOffset.UnixEpoch));

    private static async Task UntilAsync(Func<bool> condition, string failure)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, failure);
            await Task.Delay(10);
        }
    }
}
