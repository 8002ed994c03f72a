using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using OverlayKvm.Core.Model;
using OverlayKvm.HostDaemon.Libvirt;
using OverlayKvm.HostDaemon.Placement;
using OverlayKvm.TestSupport;

namespace OverlayKvm.HostDaemon.Tests.Libvirt;

/// <summary>
/// Issue 14 items 1 and 2 at <c>prepare</c>: a domain — ours or not — may name only its own channel socket under
/// the channel directory and only the engine regions of the groups the store gives it (an application in the group).
/// </summary>
public sealed class DomainIsolationCheckTests
{
    private const string Ns = "https://overlaykvm.org/xmlns/domain/1";
    private readonly InMemoryOverlayStore _store = new();
    private readonly HookJournal _journal = new();
    private readonly StaticOptionsMonitor<PlacementOptions> _placement = new(new PlacementOptions { HostName = "h1", LocalCapacity = 4 });

    public DomainIsolationCheckTests()
    {
        _store.DefineGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed);
        _store.DefineGroup("db", IPNetwork.Parse("10.2.0.0/16"), ProtectionLevel.Sealed);
        _store.DefineApplication("web", "front", IPAddress.Parse("10.1.0.1"), "victim", []);
        _store.DefineApplication("db", "main", IPAddress.Parse("10.2.0.1"), "evil", []);
    }

    private QemuHookHandler Handler() =>
        new(_store, new PlacementPlanner(_store, _placement), _placement, _journal, TimeProvider.System, NullLogger<QemuHookHandler>.Instance);

    private static string Domain(string name, string devices, string? metadata = null) => $"""
        <domain type='qemu'>
          <name>{name}</name>
          <memory unit='MiB'>64</memory>
          {(metadata is null ? "" : $"<metadata>{metadata}</metadata>")}
          <devices>{devices}</devices>
        </domain>
        """;

    private static string Channel(string path) =>
        $"<channel type='unix'><source mode='bind' path='{path}'/><target type='virtio' name='org.overlaykvm.agent.0'/></channel>";

    private static string Shmem(string group) => $"<shmem name='overlaykvm-{group}'><model type='ivshmem-plain'/><size unit='M'>4</size></shmem>";

    private HookResponse Prepare(string domain, string xml) => Handler().Evaluate(new HookRequest(domain, "prepare", "begin", "-", xml));

    [Fact]
    public void Prepare_ForeignDomainBindingTheVictimsChannel_IsRefused()
    {
        // Item 1: no OverlayKvm metadata at all; before the fix only "ours" domains were checked.
        var verdict = Prepare("evil", Domain("evil", Channel("/run/overlaykvm/victim.agent.sock")));

        Assert.False(verdict.Allow);
        Assert.Contains("'/run/overlaykvm/victim.agent.sock' is in OverlayKvm's channel directory", verdict.Reason);
        Assert.False(Assert.Single(_journal.Recent()).Allowed);
    }

    [Fact]
    public void Prepare_MemberBindingTheVictimsChannelThroughDotDot_IsRefused()
    {
        string xml = Domain("evil", Shmem("db") + Channel("/run/overlaykvm/evil.agent.sock") + "<serial type='unix'><source mode='bind' path='/run//overlaykvm/x/../victim.agent.sock'/></serial>",
            $"<overlay:domain xmlns:overlay='{Ns}'><overlay:member group='db' app='main'/></overlay:domain>");

        var verdict = Prepare("evil", xml);

        Assert.False(verdict.Allow);
        Assert.Contains("not its own channel '/run/overlaykvm/evil.agent.sock'", verdict.Reason);
    }

    [Fact]
    public void Prepare_ForeignDomainMappingAGroupsRegion_IsRefused()
    {
        // Item 2: evil has an application in db only; web's region carries web's traffic in clear.
        var verdict = Prepare("evil", Domain("evil", Shmem("web")));

        Assert.False(verdict.Allow);
        Assert.Contains("shmem 'overlaykvm-web' is the engine region of group 'web', not one of its groups (db)", verdict.Reason);
    }

    [Fact]
    public void Prepare_MetadataClaimingAGroupWithoutAnApplication_GetsNoRegion()
    {
        // The metadata is written by whoever defines the domain: it cannot grant a region.
        string xml = Domain("evil", Shmem("web") + Shmem("db") + Channel("/run/overlaykvm/evil.agent.sock"),
            $"<overlay:domain xmlns:overlay='{Ns}'><overlay:member group='web'/><overlay:member group='db' app='main'/></overlay:domain>");

        var verdict = Prepare("evil", xml);

        Assert.False(verdict.Allow);
        Assert.Contains("overlaykvm-web", verdict.Reason);
    }

    [Fact]
    public void Prepare_RegionNamedByPathAsADisk_IsRefused()
    {
        var verdict = Prepare("evil", Domain("evil", "<disk type='file' device='disk'><source file='/dev/shm/overlaykvm-web'/><target dev='vda'/></disk>"));

        Assert.False(verdict.Allow);
        Assert.Contains("names the OverlayKvm engine region 'overlaykvm-web' by path", verdict.Reason);
    }

    [Fact]
    public void Prepare_MemberWithItsOwnChannelAndRegion_IsAllowed()
    {
        string xml = Domain("victim", Shmem("web") + Channel("/run/overlaykvm/victim.agent.sock"),
            $"<overlay:domain xmlns:overlay='{Ns}'><overlay:member group='web' app='front'/></overlay:domain>");

        var verdict = Prepare("victim", xml);

        Assert.True(verdict.Allow, verdict.Reason);
    }

    [Fact]
    public void Prepare_UnrelatedDomainWithOtherUnixSockets_IsAllowed()
    {
        var verdict = Prepare("plain", Domain("plain", Channel("/var/lib/libvirt/qemu/channel/target/plain.org.qemu.guest_agent.0")
            + "<shmem name='something-else'><size unit='M'>4</size></shmem>"));

        Assert.True(verdict.Allow, verdict.Reason);
    }
}
