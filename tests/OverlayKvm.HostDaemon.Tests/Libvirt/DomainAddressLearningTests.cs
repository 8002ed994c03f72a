using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OverlayKvm.Core.Model;
using OverlayKvm.HostDaemon.Hosting;
using OverlayKvm.HostDaemon.Libvirt;
using OverlayKvm.HostDaemon.Tests.Store;
using OverlayKvm.TestSupport;

namespace OverlayKvm.HostDaemon.Tests.Libvirt;

/// <summary>
/// Issue 11: domain addresses from libvirt. The binding of virDomainInterfaceAddresses, the choice among reported
/// addresses, and one learning pass into a real store, against test:///default (which reports an address per
/// network interface of a running domain, for every source).
/// </summary>
[Collection(TestDriverCollection.Name)]
public sealed class DomainAddressLearningTests
{
    private static readonly IPNetwork TestDriverNetwork = IPNetwork.Parse("192.168.122.0/24");

    [Fact]
    public void InterfaceAddresses_RunningDomain_OnePerInterface_WithMacAndPrefix_InactiveIsRefused()
    {
        using var conn = LibvirtConnection.Open(TestDomains.Uri);
        using var domain = conn.Define(NetworkedXml(TestDomains.UniqueName("addr"), "52:54:00:0b:00:01", "52:54:00:0b:00:02"));
        try
        {
            var inactive = Assert.Throws<LibvirtOperationFailedException>(
                () => DomainInterfaceAddressReader.Read(domain, Interop.Libvirt.InterfaceAddressesSourceLease));
            Assert.Contains("virDomainInterfaceAddresses", inactive.Message, StringComparison.Ordinal);

            domain.Create();
            foreach (var source in new[] { Interop.Libvirt.InterfaceAddressesSourceLease, Interop.Libvirt.InterfaceAddressesSourceArp })
            {
                var found = DomainInterfaceAddressReader.Read(domain, source);
                Assert.Equal(["52:54:00:0b:00:01", "52:54:00:0b:00:02"], found.Select(a => a.HardwareAddress));
                Assert.All(found, a => Assert.True(TestDriverNetwork.Contains(a.Address) && a.Prefix == 24, $"{a.Address}/{a.Prefix}"));
                Assert.NotEqual(found[0].Address, found[1].Address);
                Assert.All(found, a => Assert.False(string.IsNullOrEmpty(a.Interface)));
            }

            var resolved = DomainAddressResolver.Resolve(domain);
            Assert.NotNull(resolved);
            Assert.Equal("lease", resolved.Value.Source);
            Assert.Equal(DomainInterfaceAddressReader.Read(domain, Interop.Libvirt.InterfaceAddressesSourceLease)[0].Address, resolved.Value.Address);
        }
        finally
        {
            if (domain.IsActive)
            {
                domain.Destroy();
            }
            domain.Undefine();
        }
    }

    [Fact]
    public void Choice_PrefersIpv4_SkipsLinkLocalAndLoopback_FallsBackToGlobalIpv6()
    {
        static DomainInterfaceAddress At(string address) => new("vnet0", "52:54:00:00:00:01", IPAddress.Parse(address), 24);

        Assert.Equal(IPAddress.Parse("192.0.2.7"),
            DomainAddressChoice.Choose([At("fe80::1"), At("2001:db8::7"), At("169.254.3.4"), At("127.0.0.1"), At("192.0.2.7"), At("192.0.2.8")]));
        Assert.Equal(IPAddress.Parse("2001:db8::7"), DomainAddressChoice.Choose([At("fe80::1"), At("2001:db8::7"), At("2001:db8::8")]));
        Assert.Equal(IPAddress.Parse("192.0.2.9"), DomainAddressChoice.Choose([At("::ffff:192.0.2.9")]));
        Assert.Null(DomainAddressChoice.Choose([At("fe80::1"), At("169.254.0.1"), At("::1"), At("0.0.0.0")]));
        Assert.Null(DomainAddressChoice.Choose([]));
    }

    [Fact]
    public void LearnOnce_FillsLocalRunningDomainsWithoutAddress_NeverTouchesOperatorsOrOtherHosts()
    {
        using var temp = new TempStore();
        using var store = temp.Open();
        using var conn = LibvirtConnection.Open(TestDomains.Uri);
        var holder = new LibvirtConnectionHolder();
        string learnedName = TestDomains.UniqueName("learn"), pinnedName = TestDomains.UniqueName("pin"), farName = TestDomains.UniqueName("far");
        var domains = new[]
        {
            conn.Define(NetworkedXml(learnedName, "52:54:00:0b:01:01")),
            conn.Define(NetworkedXml(pinnedName, "52:54:00:0b:01:02")),
            conn.Define(NetworkedXml(farName, "52:54:00:0b:01:03")),
        };
        try
        {
            foreach (var d in domains)
            {
                d.Create();
            }
            store.UpsertDomain(learnedName, domains[0].Uuid, "host-a", null);
            store.UpsertDomain(pinnedName, domains[1].Uuid, "host-a", IPAddress.Parse("198.51.100.5"));
            store.UpsertDomain(farName, domains[2].Uuid, "host-b", null);
            holder.Swap(conn);
            var host = new LocalHost(Options.Create(new DaemonOptions { HostName = "host-a", HostAddress = "192.0.2.100" }));
            var learner = new DomainAddressLearner(store, holder, new StaticOptionsMonitor<LibvirtOptions>(new LibvirtOptions()),
                TimeProvider.System, NullLogger<DomainAddressLearner>.Instance, host);

            Assert.Equal(1, learner.LearnOnce("host-a"));
            var version = store.CurrentVersion();
            Assert.Equal(0, learner.LearnOnce("host-a")); // unchanged lease: nothing written
            Assert.Equal(version, store.CurrentVersion());

            var learned = store.GetDomain(learnedName)!;
            Assert.Equal(DomainAddressSource.Libvirt, learned.AddressSource);
            Assert.Equal(DomainAddressResolver.Resolve(domains[0])!.Value.Address, learned.Address);
            var pinned = store.GetDomain(pinnedName)!;
            Assert.Equal((IPAddress.Parse("198.51.100.5"), DomainAddressSource.Operator), (pinned.Address, pinned.AddressSource));
            Assert.Null(store.GetDomain(farName)!.Address);

            // Stopped in libvirt: the last learned address stays (the store's run state decides reachability).
            domains[0].Destroy();
            Assert.Equal(0, learner.LearnOnce("host-a"));
            Assert.Equal(learned.Address, store.GetDomain(learnedName)!.Address);
        }
        finally
        {
            holder.Swap(null);
            foreach (var d in domains)
            {
                if (d.IsActive)
                {
                    d.Destroy();
                }
                d.Undefine();
                d.Dispose();
            }
        }
    }

    private static string NetworkedXml(string name, params string[] macs) => $"""
        <domain type='test'>
          <name>{name}</name>
          <memory unit='MiB'>64</memory>
          <vcpu>1</vcpu>
          <os><type arch='x86_64'>hvm</type></os>
          <devices>
            {string.Concat(macs.Select(mac => $"<interface type='network'><mac address='{mac}'/><source network='default'/></interface>"))}
          </devices>
        </domain>
        """;
}
