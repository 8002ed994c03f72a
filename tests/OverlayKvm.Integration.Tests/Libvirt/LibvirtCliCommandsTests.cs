using System.CommandLine;
using System.Net;
using OverlayKvm.Cli.Commands;
using OverlayKvm.Core.Model;
using OverlayKvm.HostDaemon.Tests.Libvirt;
using OverlayKvm.TestSupport;

namespace OverlayKvm.Integration.Tests.Libvirt;

/// <summary>Issue 5, Show 5 through overlayctl's commands, against overlayd's endpoints hosted in-process.</summary>
public sealed class LibvirtCliCommandsTests : IAsyncLifetime
{
    private readonly InMemoryOverlayStore _store = new();
    private LibvirtApiHost _host = null!;

    public async Task InitializeAsync() =>
        _host = await LibvirtApiHost.StartAsync(_store, new Dictionary<string, string?>
        {
            ["Libvirt:EventServiceEnabled"] = "false",
            ["Placement:HostName"] = "h1",
            ["Placement:LocalCapacity"] = "2",
        });

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        _store.Dispose();
    }

    private Task<(int Exit, string Out, string Err)> Run(params string[] args) => RunAgainst(_host.Client, args);

    /// <summary>overlayctl's libvirt commands as the CLI runs them, over an HttpClient to the in-process API.</summary>
    internal static async Task<(int Exit, string Out, string Err)> RunAgainst(HttpClient http, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var g = new CliGlobals(output, error) { ClientFactory = (_, _) => new OverlayKvm.Cli.Client.OverlayApiClient(http, "overlayd (test)", ownsHttp: false) };
        var root = new RootCommand("overlayctl (test)") { g.Connect, g.Json, g.Timeout };
        foreach (Command command in LibvirtCommands.Create(g))
        {
            root.Add(command);
        }
        int exit = await OverlayCtl.InvokeAsync(root, g, args, CancellationToken.None);
        return (exit, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task DomainPlace_GroupHostHasRoom_PicksItAndSaysWhy_FullPicksAnotherAndSaysSo()
    {
        _store.DefineGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed);
        _store.UpsertHost("h2", IPAddress.Parse("192.0.2.2"), 2);
        _store.DefineApplication("web", "a", null, "vm-a", []);
        _store.DefineApplication("web", "b", null, "vm-b", []);
        _store.UpsertDomain("vm-a", null, "h2", null);

        var (exit, output, _) = await Run("domain-place", "vm-b");
        Assert.Equal(0, exit);
        Assert.StartsWith("vm-b -> h2: host 'h2' runs 1 member domain(s) of group(s) web and has capacity (1/2 used)", output);
        Assert.Contains("  h1: 0/2 used, 0 group member(s)", output);

        _store.DefineApplication("web", "c", null, "vm-c", []);
        _store.UpsertDomain("vm-c", null, "h2", null);
        (exit, output, _) = await Run("domain-place", "vm-b");
        Assert.Equal(0, exit);
        Assert.StartsWith("vm-b -> h1: group(s) web run on 'h2' 2/2, which is full; host 'h1' has the most free capacity (0/2 used)", output);
    }

    [Fact]
    public async Task DomainPlace_Json_PrintsTheDocument()
    {
        var (exit, output, _) = await Run("--json", "domain-place", "vm-x");
        Assert.Equal(0, exit);
        using var doc = System.Text.Json.JsonDocument.Parse(output);
        Assert.Equal("h1", doc.RootElement.GetProperty("host").GetString());
    }

    [Fact]
    public async Task DomainAttach_UnknownGroup_PrintsOverlaydsErrorAndFails()
    {
        var (exit, _, error) = await Run("domain-attach", "vm1", "--app", "ghost/app");
        Assert.Equal(4, exit); // overlayctl's "not found", as for every other command
        Assert.StartsWith("overlayctl: ", error);
        Assert.Contains("domain-attach vm1: group 'ghost' not found", error);
    }

    [Fact]
    public async Task DomainAttach_NoGroup_IsAUsageError()
    {
        var (exit, _, error) = await Run("domain-attach", "vm1");
        Assert.Equal(2, exit);
        Assert.Contains("give --group GROUP or --app GROUP/APP", error);
    }

    [Fact]
    public async Task DomainAttach_WhileOverlaydHasNoLibvirt_Reports503Reason()
    {
        _store.DefineGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed);
        var (exit, _, error) = await Run("domain-attach", "vm1", "--group", "web");
        Assert.Equal(1, exit);
        Assert.Contains("not connected to libvirt", error);
    }

    [Fact]
    public async Task DomainAttach_TestDriverDomain_PrintsAddedDevicesThenAlreadyEquipped()
    {
        using var store = new InMemoryOverlayStore();
        store.DefineGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed);
        await using var host = await LibvirtApiHost.StartAsync(store, new Dictionary<string, string?>
        {
            ["Libvirt:Uri"] = "test:///default",
        });
        string name = $"cli-{Guid.NewGuid():N}"[..16];
        using var conn = OverlayKvm.HostDaemon.Libvirt.LibvirtConnection.Open("test:///default");
        using var domain = conn.Define(TestDomains.Xml(name));
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (host.Feed.Connections < 1 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(20);
            }
            var (exit, output, error) = await RunAgainst(host.Client, "domain-attach", name, "--group", "web");
            Assert.True(exit == 0, error);
            Assert.Equal(
                $"+ metadata member group=web{Environment.NewLine}+ shmem overlaykvm-web (4 MiB){Environment.NewLine}+ channel org.overlaykvm.agent.0 -> {host.AgentSocketDirectory}/{name}.agent.sock{Environment.NewLine}",
                output);

            (exit, output, _) = await RunAgainst(host.Client, "domain-attach", name, "--group", "web");
            Assert.Equal(0, exit);
            Assert.StartsWith($"{name}: already equipped, nothing changed", output);
        }
        finally
        {
            domain.Undefine();
        }
    }
}
