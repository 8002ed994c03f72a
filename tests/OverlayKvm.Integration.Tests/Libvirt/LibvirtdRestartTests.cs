using System.Xml.Linq;
using OverlayKvm.HostDaemon.Libvirt;
using OverlayKvm.HostDaemon.Tests.Libvirt;
using Xunit.Abstractions;
using OverlayKvm.TestSupport;

namespace OverlayKvm.Integration.Tests.Libvirt;

/// <summary>
/// Issue 5, Show 4: libvirtd restarts while overlayd runs. overlayd reconnects, registers its callbacks again
/// and reconciles: a member domain that appeared while libvirtd was down (its definition dropped into
/// /etc/libvirt/qemu, as configuration management does) is equipped, and later events still arrive.
/// </summary>
[Collection(LibvirtdCollection.Name)]
public sealed class LibvirtdRestartTests(LibvirtdFixture daemon, ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    private static Task WaitUntil(Func<bool> condition, string what) => Poll.UntilAsync(condition, Wait, what);

    private static bool HasRegion(string domain, string group)
    {
        var (rc, xml, _) = LibvirtdFixture.RunVirsh("dumpxml", "--inactive", domain);
        return rc == 0 && XDocument.Parse(xml).Root!.Element("devices")!.Elements("shmem").Any(s => (string?)s.Attribute("name") == $"overlaykvm-{group}");
    }

    [Fact]
    public async Task LibvirtdRestart_OverlaydReconnectsReregistersAndReconciles()
    {
        Assert.True(daemon.Owned, "this test restarts libvirtd, so it must be the one these tests started: stop the running libvirtd and rerun");
        using var scope = new E2eScope();
        using var store = new InMemoryOverlayStore();
        var reports = new List<ReconcileReport>();
        var equipped = new List<string>();
        await using var host = await LibvirtApiHost.StartAsync(store, new Dictionary<string, string?>
        {
            ["Libvirt:Uri"] = LibvirtdFixture.Uri,
            ["Libvirt:AgentSocketDirectory"] = scope.AgentSocketDirectory,
            ["Libvirt:ReconnectMaxDelay"] = "00:00:01",
        }, feed =>
        {
            feed.Reconciled += r => { lock (reports) { reports.Add(r); } };
            feed.DomainEquipped += r => { lock (equipped) { equipped.Add(r.Domain); } };
        });
        await WaitUntil(() => host.Feed.Connections >= 1, "first connection");

        string group = scope.Group("rs");
        string before = scope.Domain("before");
        string file = Path.Combine(scope.AgentSocketDirectory, before + ".xml");
        File.WriteAllText(file, E2eDomains.Xml(before, E2eDomains.Member(group)));
        Assert.Equal(0, LibvirtdFixture.RunVirsh("define", file).ExitCode);
        await WaitUntil(() => { lock (equipped) { return equipped.Contains(before); } }, $"{before} equipped before the restart");

        daemon.StopLibvirtd();
        string during = scope.Domain("during");
        string dropped = Path.Combine("/etc/libvirt/qemu", during + ".xml");
        try
        {
            File.WriteAllText(dropped, E2eDomains.Xml(during, E2eDomains.Member(group)));
            output.WriteLine($"libvirtd stopped; dropped {dropped}");
        }
        finally
        {
            daemon.StartLibvirtd();
        }

        await WaitUntil(() => host.Feed.Connections >= 2, "overlayd reconnected");
        await WaitUntil(() => { lock (reports) { return reports.Any(r => r.Connection >= 2); } }, "reconcile after reconnecting");
        ReconcileReport report;
        lock (reports)
        {
            report = reports.First(r => r.Connection >= 2);
        }
        output.WriteLine($"reconcile #{report.Connection}: {report.Domains.Count} domains, equipped [{string.Join(", ", report.Equipped.Select(e => e.Domain))}], failures [{string.Join("; ", report.Failures)}]");
        Assert.Contains(before, report.Domains);
        Assert.Contains(during, report.Domains);
        Assert.Contains(report.Equipped, e => e.Domain == during);
        Assert.DoesNotContain(report.Equipped, e => e.Domain == before);
        Assert.True(HasRegion(during, group), $"{during} has no ivshmem region after reconcile");
        Assert.True(HasRegion(before, group), $"{before} lost its ivshmem region over the restart");

        // Callbacks are registered again: a domain defined now is equipped through its Defined event.
        string after = scope.Domain("after");
        string afterFile = Path.Combine(scope.AgentSocketDirectory, after + ".xml");
        File.WriteAllText(afterFile, E2eDomains.Xml(after, E2eDomains.Member(group)));
        Assert.Equal(0, LibvirtdFixture.RunVirsh("define", afterFile).ExitCode);
        await WaitUntil(() => { lock (equipped) { return equipped.Contains(after); } }, $"{after} equipped after the restart");
        Assert.True(HasRegion(after, group));
    }
}
