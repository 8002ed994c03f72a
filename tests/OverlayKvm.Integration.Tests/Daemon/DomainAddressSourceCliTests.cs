using System.Net;
using OverlayKvm.Core.Model;
using OverlayKvm.HostDaemon.Store;
using Xunit.Abstractions;

namespace OverlayKvm.Integration.Tests.Daemon;

/// <summary>
/// Issue 11 through overlayd and overlayctl as processes: domain-list shows where an address came from, and an
/// operator's domain-define --address takes a learned address over so libvirt can no longer move it. The learned
/// address is written the way overlayd's address learner writes it (SetDomainAddress, source libvirt) by a second
/// store instance on the daemon's own database file (the learner itself is covered against libvirt by
/// DomainAddressLearningTests and DomainAddressFromLeaseTests).
/// </summary>
public sealed class DomainAddressSourceCliTests(ITestOutputHelper output)
{
    [Fact]
    public async Task DomainList_ShowsSource_DomainDefineAddress_PinsALearnedAddress()
    {
        await using var daemon = new DaemonProcess();
        await daemon.StartAsync();
        var ctl = new Overlayctl(daemon.Socket);
        await ctl.OkAsync("domain-define", "vmlearn");
        await ctl.OkAsync("domain-define", "vmop", "--address", "192.0.2.71");

        using (var learner = new SqliteOverlayStore(Directory.GetFiles(daemon.StateDir, "*.db").Single(), daemon.HostName))
        {
            learner.SetDomainAddress("vmlearn", IPAddress.Parse("192.0.2.70"), DomainAddressSource.Libvirt);
            Assert.Equal(DomainAddressSource.Operator, learner.SetDomainAddress("vmop", IPAddress.Parse("192.0.2.72"), DomainAddressSource.Libvirt).AddressSource);
        }

        var table = await ctl.OkAsync("domain-list");
        output.WriteLine(table);
        // A bordered table: "│ vmlearn │ 192.0.2.70 │ libvirt │ testhost │ …".
        Assert.Matches(@"vmlearn\s*│\s*192\.0\.2\.70\s*│\s*libvirt\s*│", table);
        Assert.Matches(@"vmop\s*│\s*192\.0\.2\.71\s*│\s*operator\s*│", table);

        // The operator names the learned address: it becomes theirs.
        var pinned = await ctl.JsonAsync("domain-define", "vmlearn", "--address", "192.0.2.70");
        Assert.Equal("operator", pinned.GetProperty("addressSource").GetString());
        using (var learner = new SqliteOverlayStore(Directory.GetFiles(daemon.StateDir, "*.db").Single(), daemon.HostName))
        {
            var kept = learner.SetDomainAddress("vmlearn", IPAddress.Parse("192.0.2.73"), DomainAddressSource.Libvirt);
            Assert.Equal((IPAddress.Parse("192.0.2.70"), DomainAddressSource.Operator), (kept.Address, kept.AddressSource));
        }

        var listed = await ctl.JsonAsync("domain-list");
        Assert.Contains(listed.EnumerateArray(), d => d.GetProperty("name").GetString() == "vmlearn"
            && d.GetProperty("address").GetString() == "192.0.2.70" && d.GetProperty("addressSource").GetString() == "operator");
    }
}
