using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.Store;
using OverlayKvm.HostDaemon.Engine;
using OverlayKvm.TestSupport;

namespace OverlayKvm.HostDaemon.Tests.Engine;

/// <summary>The engine API on a real Kestrel listening on a unix socket (as the admin socket does), wired by AddOverlayEngine.</summary>
public sealed class EngineEndpointsTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateDirectory($"/dev/shm/okvm-engine-api-{Guid.NewGuid():N}").FullName;
    private readonly InMemoryOverlayStore _store = new();
    private WebApplication? _app;
    private HttpClient? _client;

    private string Socket => Path.Combine(_dir, "admin.sock");

    public async Task InitializeAsync()
    {
        _store.DefineGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed);
        _store.DefineApplication("web", "front", IPAddress.Parse("10.1.0.1"), "vm1", []);
        _store.DefineApplication("web", "api", IPAddress.Parse("10.1.0.2"), "vm2", []);
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Engine:Directory"] = _dir,
            ["Engine:RegionSizeBytes"] = (2 << 20).ToString(),
            ["Engine:SlotCount"] = "4",
            ["Engine:OwnerUser"] = "",
        });
        builder.WebHost.ConfigureKestrel(k => k.ListenUnixSocket(Socket));
        builder.Services.AddSingleton<IOverlayStore>(_store);
        builder.Services.AddOverlayEngine(builder.Configuration);
        _app = builder.Build();
        _app.MapEngineEndpoints();
        await _app.StartAsync();
        _client = new HttpClient(new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(Socket), ct);
                return new NetworkStream(socket, ownsSocket: true);
            },
        }) { BaseAddress = new Uri("http://localhost") };
    }

    [Fact]
    public async Task Stat_ListsRegisteredAddressesPerGroupAndSlot_WithCounters()
    {
        EngineRegistry registry = _app!.Services.GetRequiredService<EngineRegistry>();
        registry.Register("vm1", IPAddress.Parse("10.1.0.1"));
        registry.Register("vm2", IPAddress.Parse("10.1.0.2"));
        registry.Query("vm1", IPAddress.Parse("10.1.0.2"));

        using JsonDocument stat = JsonDocument.Parse(await _client!.GetStringAsync("/v1/engine/stat"));

        JsonElement web = stat.RootElement.GetProperty("groups")[0];
        Assert.Equal("web", web.GetProperty("group").GetString());
        Assert.True(web.GetProperty("enabled").GetBoolean());
        Assert.Equal(["10.1.0.1", "10.1.0.2"],
            web.GetProperty("slots").EnumerateArray().Select(s => s.GetProperty("addresses")[0].GetString()).Order());
        Assert.Equal(2, web.GetProperty("rings").GetArrayLength());
        Assert.Equal(2, stat.RootElement.GetProperty("counters").GetProperty("registrations").GetInt64());
        Assert.Equal(1, stat.RootElement.GetProperty("counters").GetProperty("queries").GetProperty("Accessible").GetInt64());
    }

    [Fact]
    public async Task DisableThenEnable_SwitchesTheGroup_UnknownGroupIs404()
    {
        EngineRegistry registry = _app!.Services.GetRequiredService<EngineRegistry>();

        HttpResponseMessage off = await _client!.PostAsync("/v1/engine/groups/web/disable", null);
        Assert.Equal(HttpStatusCode.OK, off.StatusCode);
        Assert.Contains("\"enabled\":false", await off.Content.ReadAsStringAsync());
        Assert.False(registry.IsEnabled("web"));

        HttpResponseMessage on = await _client.PostAsync("/v1/engine/groups/web/enable", null);
        Assert.Equal(HttpStatusCode.OK, on.StatusCode);
        Assert.True(registry.IsEnabled("web"));

        HttpResponseMessage missing = await _client.PostAsync("/v1/engine/groups/nope/disable", null);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        using JsonDocument error = JsonDocument.Parse(await missing.Content.ReadAsStringAsync());
        Assert.Equal("engine disable: group 'nope' not found", error.RootElement.GetProperty("error").GetString());
    }

    [Fact]
    public async Task AddOverlayEngine_WithBadOptions_FailsAtStart_ListingEveryError()
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Engine:Directory"] = "relative",
            ["Engine:RegionSizeBytes"] = "12345",
            ["Engine:OwnerUser"] = "",
        });
        builder.WebHost.ConfigureKestrel(k => k.ListenUnixSocket(Path.Combine(_dir, "bad.sock")));
        builder.Services.AddSingleton<IOverlayStore>(_store);
        builder.Services.AddOverlayEngine(builder.Configuration);
        await using WebApplication app = builder.Build();

        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());

        Assert.Contains(e.Failures, f => f.StartsWith("Engine.Directory:", StringComparison.Ordinal));
        Assert.Contains(e.Failures, f => f.StartsWith("Engine.RegionSizeBytes:", StringComparison.Ordinal));
    }

    public async Task DisposeAsync()
    {
        try
        {
            _client?.Dispose();
            if (_app is not null)
            {
                await _app.StopAsync();
                await _app.DisposeAsync();
            }
        }
        finally
        {
            Directory.Delete(_dir, recursive: true);
        }
    }
}
