using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Xml.Linq;
using OverlayKvm.Core.Model;
using OverlayKvm.HostDaemon.Libvirt;
using OverlayKvm.TestSupport;

namespace OverlayKvm.HostDaemon.Tests.Libvirt;

/// <summary>
/// overlayd's libvirt part in-process (event service, endpoints on a unix socket) against test:///default:
/// lifecycle order, equip-on-define (Show 3 through libvirt), attach, placement and hook endpoints.
/// </summary>
[Collection(TestDriverCollection.Name)]
public sealed class LibvirtServiceTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private static Task WaitUntil(Func<bool> condition, string what) => Poll.UntilAsync(condition, Wait, what);
    private const string Ns = "https://overlaykvm.org/xmlns/domain/1";
    private readonly InMemoryOverlayStore _store = new();
    private readonly List<DomainLifecycleEvent> _events = [];
    private readonly List<InjectionResult> _equipped = [];
    private readonly List<string> _defined = [];
    private LibvirtApiHost _host = null!;
    private LibvirtConnection _conn = null!;

    public async Task InitializeAsync()
    {
        _conn = LibvirtConnection.Open(TestDomains.Uri);
        _host = await LibvirtApiHost.StartAsync(_store, new Dictionary<string, string?>
        {
            ["Libvirt:Uri"] = TestDomains.Uri,
            ["Placement:HostName"] = "h1",
        }, feed =>
        {
            feed.EventObserved += e => { lock (_events) { _events.Add(e); Monitor.PulseAll(_events); } };
            feed.DomainEquipped += r => { lock (_events) { _equipped.Add(r); } };
        });
        await WaitUntil(() => _host.Feed.Connections >= 1, "event service connected to test:///default");
    }

    public async Task DisposeAsync()
    {
        try
        {
            await _host.DisposeAsync();
        }
        finally
        {
            foreach (string name in _defined)
            {
                using var d = _conn.TryLookupByName(name);
                if (d is not null)
                {
                    if (d.IsActive)
                    {
                        d.Destroy();
                    }
                    d.Undefine();
                }
            }
            _conn.Dispose();
            _store.Dispose();
        }
    }

    private string Define(string prefix, string? metadata)
    {
        string name = TestDomains.UniqueName(prefix);
        _defined.Add(name);
        using var d = _conn.Define(TestDomains.Xml(name, metadata));
        return name;
    }

    private List<DomainLifecycleEvent> EventsOf(string domain)
    {
        lock (_events)
        {
            return _events.Where(e => e.Domain == domain).ToList();
        }
    }

    [Fact]
    public async Task LifecycleEvents_DefineStartStopUndefine_ArriveInOrder()
    {
        string name = Define("order", null);
        using (var d = _conn.LookupByName(name))
        {
            d.Create();
            d.Destroy();
            d.Undefine();
        }
        await WaitUntil(() => EventsOf(name).Any(e => e.Kind == DomainEventKind.Undefined), $"Undefined event of {name}");

        var kinds = EventsOf(name).Select(e => e.Kind).ToArray();
        Assert.Equal([DomainEventKind.Defined, DomainEventKind.Started, DomainEventKind.Stopped, DomainEventKind.Undefined], kinds);
        var sequences = EventsOf(name).Select(e => e.Sequence).ToArray();
        Assert.Equal(sequences.Order().ToArray(), sequences);
    }

    [Fact]
    public async Task Define_WithMetadata_IsEquippedOnce_RedefineAddsNothing()
    {
        string meta = $"<overlay:domain xmlns:overlay='{Ns}'><overlay:member group='web'/></overlay:domain>";
        string name = Define("equip", meta);
        // Our own redefinition produces a second Defined event; wait until both are handled.
        await WaitUntil(() => EventsOf(name).Count(e => e.Kind == DomainEventKind.Defined) >= 2, $"equip of {name} and its redefinition");

        using var d = _conn.LookupByName(name);
        var devices = XDocument.Parse(d.GetXml(inactive: true)).Root!.Element("devices")!;
        Assert.Single(devices.Elements("shmem"), s => (string?)s.Attribute("name") == "overlaykvm-web");
        Assert.Single(devices.Elements("channel"));

        // The operator defines the equipped XML again: nothing is added, nothing redefined by us.
        using (var again = _conn.Define(d.GetXml(inactive: true)))
        {
        }
        await WaitUntil(() => EventsOf(name).Count(e => e.Kind == DomainEventKind.Defined) >= 3, $"third Defined event of {name}");
        await Task.Delay(300);
        Assert.Equal(3, EventsOf(name).Count(e => e.Kind == DomainEventKind.Defined));
        lock (_events)
        {
            Assert.Single(_equipped, r => r.Domain == name);
        }
        var after = XDocument.Parse(d.GetXml(inactive: true)).Root!.Element("devices")!;
        Assert.Single(after.Elements("shmem"));
        Assert.Single(after.Elements("channel"));
    }

    [Fact]
    public async Task Define_WithoutMetadata_IsUntouched()
    {
        string name = Define("plain", null);
        using var d = _conn.LookupByName(name);
        string before = d.GetXml(inactive: true);
        await WaitUntil(() => EventsOf(name).Any(e => e.Kind == DomainEventKind.Defined), $"Defined event of {name}");

        Assert.Equal(before, d.GetXml(inactive: true));
        Assert.Single(EventsOf(name));
        lock (_events)
        {
            Assert.DoesNotContain(_equipped, r => r.Domain == name);
        }
    }

    [Fact]
    public async Task AttachEndpoint_AddsMetadataAndDevices_SecondCallChangesNothing()
    {
        _store.DefineGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed);
        string name = Define("attach", null);
        _store.DefineApplication("web", "frontend", null, name, []);

        var first = await _host.Client.PostAsJsonAsync($"/v1/domains/{name}/attach", new { group = "web", app = "frontend" });
        string body = await first.Content.ReadAsStringAsync();
        Assert.True(first.StatusCode == HttpStatusCode.OK, body);
        using var json = JsonDocument.Parse(body);
        Assert.True(json.RootElement.GetProperty("changed").GetBoolean());
        string[] added = json.RootElement.GetProperty("added").EnumerateArray().Select(e => e.GetString()!).ToArray();
        Assert.Equal(["metadata member group=web app=frontend", "shmem overlaykvm-web (4 MiB)", $"channel org.overlaykvm.agent.0 -> {_host.AgentSocketDirectory}/{name}.agent.sock"], added);

        using (var d = _conn.LookupByName(name))
        {
            string? metadata = d.GetMetadata(Ns, DomainModification.Config);
            Assert.NotNull(metadata);
            Assert.Contains("app=\"frontend\"", metadata);
        }

        var second = await _host.Client.PostAsJsonAsync($"/v1/domains/{name}/attach", new { group = "web", app = "frontend" });
        using var json2 = JsonDocument.Parse(await second.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.False(json2.RootElement.GetProperty("changed").GetBoolean());
        Assert.Equal(2, json2.RootElement.GetProperty("present").GetArrayLength());
    }

    [Theory]
    [InlineData("nogroup", "app", HttpStatusCode.NotFound, "group 'nogroup' not found")]
    [InlineData("bad name", null, HttpStatusCode.BadRequest, "not a valid group name")]
    public async Task AttachEndpoint_BadRequest_AnswersWithClearError(string group, string? app, HttpStatusCode status, string message)
    {
        string name = Define("attachbad", null);
        var response = await _host.Client.PostAsJsonAsync($"/v1/domains/{name}/attach", new { group, app });
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(status, response.StatusCode);
        Assert.Contains(message, json.RootElement.GetProperty("error").GetString());
    }

    [Fact]
    public async Task AttachEndpoint_UnknownDomain_Answers404WithLibvirtsMessage()
    {
        _store.DefineGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed);
        var response = await _host.Client.PostAsJsonAsync("/v1/domains/no-such-vm/attach", new { group = "web" });
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("Domain not found", json.RootElement.GetProperty("error").GetString());
    }

    [Fact]
    public async Task PlacementEndpoint_ReturnsChoiceAndReason()
    {
        _store.DefineGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed);
        _store.UpsertHost("h2", IPAddress.Parse("192.0.2.2"), 3);
        _store.DefineApplication("web", "a", null, "vm-a", []);
        _store.DefineApplication("web", "b", null, "vm-b", []);
        _store.UpsertDomain("vm-a", null, "h2", null);

        using var json = JsonDocument.Parse(await _host.Client.GetStringAsync("/v1/domains/vm-b/placement"));

        Assert.Equal("h2", json.RootElement.GetProperty("host").GetString());
        Assert.Contains("host 'h2' runs 1 member domain(s) of group(s) web", json.RootElement.GetProperty("reason").GetString());
        Assert.Equal(2, json.RootElement.GetProperty("candidates").GetArrayLength());
    }

    [Fact]
    public async Task HookEndpoint_UnknownGroup_Answers403WithReason()
    {
        string xml = TestDomains.Xml("vmx", $"<overlay:domain xmlns:overlay='{Ns}'><overlay:member group='ghost'/></overlay:domain>");
        var response = await _host.Client.PostAsJsonAsync("/v1/hooks/qemu", new { domain = "vmx", operation = "prepare", subOperation = "begin", extra = "-", xml });
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.False(json.RootElement.GetProperty("allow").GetBoolean());
        Assert.Contains("group 'ghost' is not defined", json.RootElement.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task HookEndpoint_MissingFields_Answers400()
    {
        var response = await _host.Client.PostAsJsonAsync("/v1/hooks/qemu", new { operation = "prepare" });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Contains("'domain' and 'operation' are required", json.RootElement.GetProperty("error").GetString());
    }
}
