using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using OverlayKvm.Core.Model;
using OverlayKvm.HostDaemon.Libvirt;
using OverlayKvm.HostDaemon.Placement;
using OverlayKvm.TestSupport;

namespace OverlayKvm.HostDaemon.Tests.Libvirt;

/// <summary>The hook verdicts overlayd gives (no libvirt involved: the handler must never call it).</summary>
public sealed class QemuHookHandlerTests
{
    private const string Ns = "https://overlaykvm.org/xmlns/domain/1";
    private readonly InMemoryOverlayStore _store = new();
    private readonly HookJournal _journal = new();
    private readonly StaticOptionsMonitor<PlacementOptions> _placement = new(new PlacementOptions { HostName = "h1", LocalCapacity = 4 });

    private QemuHookHandler Handler() =>
        new(_store, new PlacementPlanner(_store, _placement), _placement, _journal, TimeProvider.System, NullLogger<QemuHookHandler>.Instance);

    private static string Metadata(string group, string? app = null) =>
        $"<overlay:domain xmlns:overlay='{Ns}'><overlay:member group='{group}'{(app is null ? "" : $" app='{app}'")}/></overlay:domain>";

    private static string Equipped(string name, string group, string? app = null)
    {
        var doc = System.Xml.Linq.XDocument.Parse(TestDomains.Xml(name, Metadata(group, app)));
        DomainXmlInjector.Inject(doc, new InjectionSettings("/run/overlaykvm", 4, false));
        return doc.ToString();
    }

    private static HookRequest Prepare(string domain, string xml) => new(domain, "prepare", "begin", "-", xml);

    [Fact]
    public void Evaluate_DomainNotOurs_AllowsAndRecordsNotOurs()
    {
        var verdict = Handler().Evaluate(Prepare("plain", TestDomains.Xml("plain")));

        Assert.True(verdict.Allow);
        var record = Assert.Single(_journal.Recent());
        Assert.False(record.Ours);
        Assert.Empty(_store.ListDomains());
    }

    [Fact]
    public void Evaluate_PrepareUnknownGroup_RefusesNamingTheGroup()
    {
        var verdict = Handler().Evaluate(Prepare("vm1", Equipped("vm1", "ghost")));

        Assert.False(verdict.Allow);
        Assert.Contains("group 'ghost' is not defined in overlayd", verdict.Reason);
        Assert.Contains("domain 'vm1'", verdict.Reason);
        Assert.False(Assert.Single(_journal.Recent()).Allowed);
    }

    [Fact]
    public void Evaluate_PrepareUnknownApp_Refuses()
    {
        _store.DefineGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed);
        var verdict = Handler().Evaluate(Prepare("vm1", Equipped("vm1", "web", "nope")));
        Assert.False(verdict.Allow);
        Assert.Contains("application 'web/nope' is not defined", verdict.Reason);
    }

    [Fact]
    public void Evaluate_PrepareWithoutDevices_RefusesNamingTheDevice()
    {
        _store.DefineGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed);
        _store.DefineApplication("web", "front", IPAddress.Parse("10.1.0.1"), "vm1", []);
        var verdict = Handler().Evaluate(Prepare("vm1", TestDomains.Xml("vm1", Metadata("web"))));
        Assert.False(verdict.Allow);
        Assert.Contains("missing the ivshmem region 'overlaykvm-web'", verdict.Reason);
    }

    [Fact]
    public void Evaluate_PrepareEquippedKnownGroup_AllowsAndRecordsPlacement()
    {
        _store.DefineGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed);
        // Its region is granted by the store (an application of vm1 in web), not by its metadata (issue 14 item 2).
        _store.DefineApplication("web", "front", IPAddress.Parse("10.1.0.1"), "vm1", []);
        var verdict = Handler().Evaluate(Prepare("vm1", Equipped("vm1", "web")));

        Assert.True(verdict.Allow, verdict.Reason);
        Assert.Null(verdict.Reason);
        Assert.Equal("h1", _store.GetDomain("vm1")!.Host);
    }

    [Fact]
    public void Evaluate_MigrateIn_WithoutRegion_AllowedNotPlacedYet()
    {
        _store.DefineGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed);
        _store.DefineApplication("web", "front", IPAddress.Parse("10.1.0.1"), "vm1", []);
        _store.UpsertHost("h2", IPAddress.Parse("192.0.2.2"), 4);
        _store.UpsertDomain("vm1", null, "h2", IPAddress.Parse("192.0.2.21"));
        // The source detached the group's region before migrating: the incoming XML has the channel, no shmem.
        var doc = System.Xml.Linq.XDocument.Parse(Equipped("vm1", "web"));
        System.Xml.Linq.Extensions.Remove(doc.Root!.Element("devices")!.Elements("shmem"));

        var verdict = Handler().Evaluate(new HookRequest("vm1", "migrate", "begin", "-", doc.ToString()));

        Assert.True(verdict.Allow, verdict.Reason);
        // Placed here by the arrival (the lifecycle event), not by the hook: a failed migration changes nothing.
        Assert.Equal("h2", _store.GetDomain("vm1")!.Host);
    }

    [Fact]
    public void Evaluate_MigrateIn_UnknownGroup_Refused()
    {
        var verdict = Handler().Evaluate(new HookRequest("vm1", "migrate", "begin", "-", Equipped("vm1", "ghost")));

        Assert.False(verdict.Allow);
        Assert.Contains("group 'ghost' is not defined in overlayd", verdict.Reason);
    }

    [Fact]
    public void Evaluate_MigrateIn_StrictPlacementWrongHost_Refused()
    {
        _store.DefineGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed);
        _store.DefineApplication("web", "a", null, "vm-a", []);
        _store.UpsertHost("h2", IPAddress.Parse("192.0.2.2"), 4);
        _store.UpsertDomain("vm-a", null, "h2", null);
        _placement.CurrentValue.Strict = true;

        var verdict = Handler().Evaluate(new HookRequest("vm-b", "migrate", "begin", "-", Equipped("vm-b", "web")));

        Assert.False(verdict.Allow);
        Assert.Contains("strict placement: it belongs on host 'h2', not 'h1'", verdict.Reason);
    }

    [Theory]
    [InlineData("started", "begin")]
    [InlineData("stopped", "end")]
    [InlineData("release", "end")]
    public void Evaluate_OtherOperationsOfUnknownGroup_AreAllowedAndJournaled(string operation, string sub)
    {
        var verdict = Handler().Evaluate(new HookRequest("vm1", operation, sub, "-", Equipped("vm1", "ghost")));
        Assert.True(verdict.Allow);
        var record = Assert.Single(_journal.Recent());
        Assert.Equal((operation, sub, true), (record.Operation, record.SubOperation, record.Ours));
    }

    [Fact]
    public void Evaluate_StrictPlacementWrongHost_Refuses()
    {
        _store.DefineGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed);
        _store.DefineApplication("web", "a", null, "vm-a", []);
        _store.UpsertHost("h2", IPAddress.Parse("192.0.2.2"), 4);
        _store.UpsertDomain("vm-a", null, "h2", null);
        _placement.CurrentValue.Strict = true;

        var verdict = Handler().Evaluate(Prepare("vm-b", Equipped("vm-b", "web")));

        Assert.False(verdict.Allow);
        Assert.Contains("strict placement: it belongs on host 'h2', not 'h1'", verdict.Reason);
        Assert.Null(_store.GetDomain("vm-b"));
    }

    [Fact]
    public void Evaluate_StrictPlacementRightHost_Allows()
    {
        _store.DefineGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed);
        _placement.CurrentValue.Strict = true;
        _store.DefineApplication("web", "front", IPAddress.Parse("10.1.0.1"), "vm-b", []);
        var verdict = Handler().Evaluate(Prepare("vm-b", Equipped("vm-b", "web")));
        Assert.True(verdict.Allow, verdict.Reason);
    }

    [Theory]
    [InlineData("<domain><name>x</name><metadata><overlay:domain xmlns:overlay='https://overlaykvm.org/xmlns/domain/1'>")]
    [InlineData("<!DOCTYPE d [<!ENTITY e 'x'>]><domain><name>&e;</name><metadata><o:domain xmlns:o='https://overlaykvm.org/xmlns/domain/1'/></metadata></domain>")]
    public void Evaluate_UnreadableXmlOfOurs_RefusesPrepare(string xml)
    {
        var verdict = Handler().Evaluate(Prepare("x", xml));
        Assert.False(verdict.Allow);
        Assert.Contains("cannot read its XML", verdict.Reason);
    }

    [Fact]
    public void Evaluate_UnreadableXmlNotOurs_Allows()
    {
        Assert.True(Handler().Evaluate(Prepare("x", "<domain><name>x</name>")).Allow);
    }

    [Fact]
    public void Evaluate_MissingDomain_ThrowsArgumentException()
    {
        Assert.Throws<ArgumentException>(() => Handler().Evaluate(new HookRequest(null, "prepare", "begin", "-", "")));
    }
}
