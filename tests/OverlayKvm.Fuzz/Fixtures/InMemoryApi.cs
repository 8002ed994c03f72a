using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.Store;
using OverlayKvm.HostDaemon.Api;
using OverlayKvm.HostDaemon.Hosting;

namespace OverlayKvm.Fuzz.Fixtures;

/// <summary>
/// overlayd's admin API with its real services, middleware and JSON binding (<c>AddOverlayHostDaemon</c>,
/// <c>ApiErrors</c>, <c>MapOverlayApi</c>), served in memory by TestServer instead of Kestrel on the admin socket.
/// Background services (libvirt events, channel supervisor, jobs, inventory) are not started: the target is the
/// request path. Store and engine files live in scratch directories. Group web (10.1.0.0/16) with app front exists.
/// </summary>
internal sealed class InMemoryApi : IDisposable
{
    private readonly ScratchDirectory _state = new("api");
    private readonly ScratchDirectory _regions = new("api-engine", sharedMemory: true);
    private readonly WebApplication _app;

    public InMemoryApi()
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Overlayd:Socket"] = Path.Combine(_state.Path, "overlayd.sock"),
            ["Overlayd:StateDir"] = _state.Path,
            ["Overlayd:ChannelDir"] = Path.Combine(_state.Path, "channels"),
            ["Overlayd:HostName"] = "fz-host",
            ["Engine:Directory"] = _regions.Path,
            ["Engine:RegionSizeBytes"] = (1 << 20).ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Engine:SlotCount"] = "4",
            ["Engine:OwnerUser"] = "",
        });
        builder.Logging.ClearProviders();
        builder.Services.AddOverlayHostDaemon(builder.Configuration);
        builder.Services.RemoveAll<IHostedService>();
        builder.WebHost.UseTestServer();
        _app = builder.Build();
        _app.UseMiddleware<ApiErrors>();
        _app.MapOverlayApi();
        _app.StartAsync().GetAwaiter().GetResult();
        var store = _app.Services.GetRequiredService<IOverlayStore>();
        store.DefineGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed);
        store.DefineApplication("web", "front", IPAddress.Parse("10.1.0.1"), "fz-vm1", []);
        Client = _app.GetTestClient();
    }

    public HttpClient Client { get; }

    public void Dispose()
    {
        Client.Dispose();
        _app.StopAsync().GetAwaiter().GetResult();
        ((IDisposable)_app).Dispose();
        _regions.Dispose();
        _state.Dispose();
    }
}
