using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OverlayKvm.HostDaemon.Hosting;
using OverlayKvm.HostDaemon.Jobs;
using OverlayKvm.HostDaemon.Libvirt;
using OverlayKvm.HostDaemon.Tests.Libvirt;
using OverlayKvm.HostDaemon.Tests.Store;

namespace OverlayKvm.HostDaemon.Tests.Jobs;

/// <summary>The directory against libvirt's test driver (which always runs a domain named "test").</summary>
[Collection(TestDriverCollection.Name)]
public sealed class DirectoryReconcilerTests : IDisposable
{
    private readonly TempStore _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Reconcile_SortsThisHostsDomainsByLibvirtState_IgnoresOtherHosts_ReportsUnrecordedOnes()
    {
        var store = _temp.Open();
        store.UpsertDomain("test", null, "host-a", IPAddress.Parse("192.0.2.1"));
        store.UpsertDomain("gone", null, "host-a", IPAddress.Parse("192.0.2.2"));
        store.UpsertDomain("elsewhere", null, "host-b", IPAddress.Parse("192.0.2.3"));
        using var connection = LibvirtConnection.Open(TestDomains.Uri);
        var holder = new LibvirtConnectionHolder();
        holder.Swap(connection);
        var host = new LocalHost(Options.Create(new DaemonOptions { HostName = "host-a", HostAddress = "192.0.2.100" }));
        var reconciler = new DirectoryReconciler(store, host, holder, _temp.Time, NullLogger<DirectoryReconciler>.Instance);

        var report = reconciler.Run();

        Assert.True(report.LibvirtReachable);
        Assert.Equal(["test"], report.Running);
        Assert.Equal(["gone"], report.Missing);
        Assert.Empty(report.Stopped);
        Assert.DoesNotContain("elsewhere", report.Missing);
        Assert.Same(report, reconciler.Last);
        holder.Swap(null);
    }

    [Fact]
    public void Reconcile_WithoutLibvirt_ComparesNothing_AndSaysSo()
    {
        var store = _temp.Open();
        store.UpsertDomain("vm1", null, "host-a", null);
        var host = new LocalHost(Options.Create(new DaemonOptions { HostName = "host-a", HostAddress = "192.0.2.100" }));

        var report = new DirectoryReconciler(store, host, new LibvirtConnectionHolder(), _temp.Time, NullLogger<DirectoryReconciler>.Instance).Run();

        Assert.False(report.LibvirtReachable);
        Assert.Empty(report.Missing);
        Assert.Equal(0, report.SlotsReleased);
    }
}
