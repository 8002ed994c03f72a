using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OverlayKvm.Core.Cluster;
using OverlayKvm.Core.Model;
using OverlayKvm.HostDaemon.Hosting;
using OverlayKvm.HostDaemon.Tests.Libvirt;
using OverlayKvm.Integration.Tests.Libvirt;
using OverlayKvm.TestSupport;

namespace OverlayKvm.Integration.Tests.Migration;

/// <summary>
/// <c>overlayctl domain-migrate</c> against overlayd's endpoint hosted in-process on libvirt's test driver: every
/// refusal before anything is touched, with its exit code, and a libvirt that cannot migrate (the test driver)
/// leaving the domain where it was. The moves themselves need two libvirt daemons and a booted guest (Show 1/2).
/// </summary>
public sealed class DomainMigrateCliTests : IAsyncLifetime
{
    private readonly InMemoryOverlayStore _store = new();
    private readonly FixedHostLiveness _liveness = new("h1", "h2");
    private LibvirtApiHost _host = null!;

    public async Task InitializeAsync()
    {
        _store.DefineGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed);
        _store.UpsertHost("h1", IPAddress.Parse("192.0.2.1"), 4);
        _store.UpsertHost("h2", IPAddress.Parse("192.0.2.2"), 4);
        _store.UpsertHost("h3", IPAddress.Parse("192.0.2.3"), 4);
        // "test" is the domain libvirt's test driver runs from its start.
        _store.DefineApplication("web", "a", null, "test", []);
        _store.UpsertDomain("test", null, "h1", null);
        _store.DefineApplication("web", "b", null, "elsewhere", []);
        _store.UpsertDomain("elsewhere", null, "h2", null);
        _host = await LibvirtApiHost.StartAsync(_store, new Dictionary<string, string?>
        {
            ["Libvirt:Uri"] = "test:///default",
            ["Libvirt:EventServiceEnabled"] = "false",
            ["Libvirt:PeerUris:h2"] = "test:///default",
        }, services: s =>
        {
            s.AddSingleton(new LocalHost(Options.Create(new DaemonOptions { HostName = "h1", HostAddress = "192.0.2.1" })));
            s.AddSingleton<IHostLiveness>(_liveness);
        });
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        _store.Dispose();
    }

    private Task<(int Exit, string Out, string Err)> Run(params string[] args) => LibvirtCliCommandsTests.RunAgainst(_host.Client, args);

    [Theory]
    [InlineData(4, "ghost", "h2", "domain-migrate ghost: no such domain in the store")]
    [InlineData(1, "elsewhere", "h3", "domain-migrate elsewhere: the store places it on host h2, not on this host (h1): ask that host's overlayd")]
    [InlineData(4, "test", "h9", "domain-migrate test: no host 'h9' in the inventory")]
    [InlineData(1, "test", "h1", "domain-migrate test: it already runs on h1")]
    [InlineData(1, "test", "h3", "domain-migrate test: host h3 is not alive in the cluster")]
    public async Task DomainMigrate_RefusedBeforeAnythingIsTouched_ExitCodeAndReason(int exit, string domain, string to, string reason)
    {
        var (code, output, error) = await Run("domain-migrate", domain, "--to", to);
        Assert.Equal(exit, code);
        Assert.Equal("", output);
        Assert.StartsWith("overlayctl: ", error);
        Assert.Contains(reason, error);
        Assert.Equal("h1", _store.GetDomain("test")!.Host);
    }

    [Fact]
    public async Task DomainMigrate_NoAgentToConfirmTheLeave_RefusedUnlessForced()
    {
        var (code, _, error) = await Run("domain-migrate", "test", "--to", "h2");
        Assert.Equal(1, code);
        Assert.Contains("overlayd does not watch its agent channel, so the agent cannot confirm it unmapped the engine regions", error);
        Assert.Contains("nothing was changed (--force unplugs the regions anyway", error);
    }

    [Fact]
    public async Task DomainMigrate_ForcedButLibvirtCannotMigrate_FailsAndTheDomainStaysHere()
    {
        var (code, _, error) = await Run("domain-migrate", "test", "--to", "h2", "--force");
        Assert.Equal(1, code);
        Assert.Contains("domain-migrate test: libvirt could not migrate it to h2 (test:///default)", error);
        Assert.Contains("it stays on this host", error);
        Assert.Equal("h1", _store.GetDomain("test")!.Host);
    }

    [Fact]
    public async Task DomainMigrate_WithoutTo_UsageError()
    {
        var (code, _, error) = await Run("domain-migrate", "test");
        Assert.Equal(2, code);
        Assert.Contains("--to", error);
    }
}
