using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OverlayKvm.Core.Model;
using OverlayKvm.HostDaemon.Hosting;
using OverlayKvm.HostDaemon.Libvirt;
using OverlayKvm.HostDaemon.Store;
using OverlayKvm.Integration.Tests.E2e;
using Xunit.Abstractions;

namespace OverlayKvm.Integration.Tests.Libvirt;

/// <summary>
/// Issue 11: a domain's address comes from libvirt when the operator gives none. One real TCG guest (the probe
/// image, eth0 by DHCP through busybox udhcpc) on an isolated libvirt network with DHCP; overlayd's address learner
/// runs against the real libvirtd and two stores: one where the domain has no address (it learns the lease, source
/// libvirt) and one where the operator gave one (never replaced).
/// </summary>
[Collection("libvirtd")]
public sealed class DomainAddressFromLeaseTests(ITestOutputHelper output)
{
    private const string SubnetPrefix = "192.168.151"; // unique to this test among the suites
    private static readonly TimeSpan LeaseWait = TimeSpan.FromSeconds(120);

    // Its own probe image directory: the image's init must know overlaykvm.ip=dhcp, and rebuilding the shared
    // e2e-probe image under other suites' running guests is not ours to do.
    private static readonly string ImageDir = Path.Combine(GuestImage.CacheRoot, "e2e-dhcp-probe");

    [Fact]
    public async Task GuestTakesALease_LearnerStoresItAsLibvirt_OperatorAddressIsNeverReplaced()
    {
        await using var daemons = await LibvirtDaemons.EnsureAsync(output.WriteLine);
        var image = await GuestImage.BuildAsync(ImageDir, agent: null, output.WriteLine);
        await using var network = await IsolatedNetwork.CreateWithDhcpAsync(SubnetPrefix, output.WriteLine);
        await using var domain = await TestDomain.DefineAsync(
            new TestDomainSpec(image) { NetworkName = network.Name, ExtraCmdline = "overlaykvm.ip=dhcp" }, output.WriteLine);
        var storeDirectory = Directory.CreateTempSubdirectory("okvaddr-store.").FullName;
        try
        {
            using var learningStore = new SqliteOverlayStore(Path.Combine(storeDirectory, "learning.db"), "host-a", TimeProvider.System);
            using var pinnedStore = new SqliteOverlayStore(Path.Combine(storeDirectory, "pinned.db"), "host-a", TimeProvider.System);
            await LearnAsync(network, domain, learningStore, pinnedStore);
        }
        finally
        {
            Directory.Delete(storeDirectory, recursive: true);
        }
    }

    private async Task LearnAsync(IsolatedNetwork network, TestDomain domain, SqliteOverlayStore learningStore, SqliteOverlayStore pinnedStore)
    {
        var operatorAddress = IPAddress.Parse("198.51.100.7");
        using var connection = LibvirtConnection.Open(Virsh.Uri);
        using (var defined = connection.LookupByName(domain.Name))
        {
            learningStore.UpsertDomain(domain.Name, defined.Uuid, "host-a", null);
            pinnedStore.UpsertDomain(domain.Name, defined.Uuid, "host-a", operatorAddress);
        }

        var holder = new LibvirtConnectionHolder();
        holder.Swap(connection);
        try
        {
            var learnerHere = Learner(learningStore, holder);
            var learnerPinned = Learner(pinnedStore, holder);
            var started = DateTime.UtcNow;
            await domain.StartAsync();

            // What overlayd's timer does every Libvirt:AddressRefreshInterval, here on a 250 ms beat.
            var deadline = DateTime.UtcNow + LeaseWait;
            while (learnerHere.LearnOnce("host-a") == 0)
            {
                if (DateTime.UtcNow > deadline)
                    throw new TimeoutException($"no lease of {domain.Name} reached the store in {LeaseWait.TotalSeconds} s; serial log:\n{SerialLog.Tail(domain.Serial.ReadAll(), 2000)}");
                await Task.Delay(250);
            }
            output.WriteLine($"address learned {(DateTime.UtcNow - started).TotalSeconds:F1} s after virsh start");
            learnerPinned.LearnOnce("host-a");

            var learned = learningStore.GetDomain(domain.Name)!;
            Assert.Equal(DomainAddressSource.Libvirt, learned.AddressSource);
            Assert.True(network.Subnet!.Value.Contains(learned.Address!), $"{learned.Address} is not in {network.Subnet}");
            // The guest configured the same address from its lease (init prints it).
            await domain.Serial.WaitForLineAsync($"overlaykvm-init: eth0 dhcp {learned.Address}/24", TimeSpan.FromSeconds(30));
            var leases = await Virsh.RunAsync("net-dhcp-leases", network.Name);
            output.WriteLine(leases);
            Assert.Contains(learned.Address!.ToString(), leases, StringComparison.Ordinal);

            var kept = pinnedStore.GetDomain(domain.Name)!;
            Assert.Equal((operatorAddress, DomainAddressSource.Operator), (kept.Address, kept.AddressSource));
            Assert.Equal(1, pinnedStore.CurrentVersion()); // not even a no-op write

            // What domain-list shows: the address and where it came from.
            var view = OverlayKvm.HostDaemon.Api.ApiViews.ToView(learned);
            Assert.Equal((learned.Address.ToString(), "libvirt"), (view.Address, view.AddressSource));
        }
        finally
        {
            holder.Swap(null);
        }
    }

    private static DomainAddressLearner Learner(OverlayKvm.Core.Store.IOverlayStore store, LibvirtConnectionHolder holder) =>
        new(store, holder, new FixedOptions(new LibvirtOptions()), TimeProvider.System,
            NullLogger<DomainAddressLearner>.Instance,
            new LocalHost(Options.Create(new DaemonOptions { HostName = "host-a", HostAddress = "192.0.2.100" })));

    private sealed class FixedOptions(LibvirtOptions value) : IOptionsMonitor<LibvirtOptions>
    {
        public LibvirtOptions CurrentValue => value;
        public LibvirtOptions Get(string? name) => value;
        public IDisposable? OnChange(Action<LibvirtOptions, string?> listener) => null;
    }
}
