using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OverlayKvm.Core.Store;
using OverlayKvm.HostDaemon.Libvirt;

namespace OverlayKvm.HostDaemon.Tests.Libvirt;

/// <summary>
/// overlayd's libvirt part hosted in-process the way the daemon hosts it: AddLibvirtIntegration +
/// MapLibvirtEndpoints on Kestrel listening on a unix socket in a private temp directory.
/// </summary>
internal sealed class LibvirtApiHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private LibvirtApiHost(WebApplication app, string directory, string socketPath)
    {
        _app = app;
        Directory = directory;
        SocketPath = socketPath;
        Client = CreateClient(socketPath);
    }

    public string Directory { get; }
    public string SocketPath { get; }
    public string AgentSocketDirectory => _app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<LibvirtOptions>>().Value.AgentSocketDirectory;
    public HttpClient Client { get; }
    public IServiceProvider Services => _app.Services;
    public DomainLifecycleFeed Feed => _app.Services.GetRequiredService<DomainLifecycleFeed>();
    public HookJournal Journal => _app.Services.GetRequiredService<HookJournal>();

    public static async Task<LibvirtApiHost> StartAsync(IOverlayStore store, IDictionary<string, string?> settings, Action<DomainLifecycleFeed>? beforeStart = null,
        Action<IServiceCollection>? services = null)
    {
        string directory = Path.Combine(Path.GetTempPath(), $"okvm-api-{Guid.NewGuid():N}"[..20]);
        System.IO.Directory.CreateDirectory(directory);
        string socket = Path.Combine(directory, "overlayd.sock");
        WebApplication? app = null;
        try
        {
            var builder = WebApplication.CreateSlimBuilder();
            // The event service creates the agent socket directory: keep it inside ours unless a test chose one.
            var effective = new Dictionary<string, string?>(settings);
            effective.TryAdd("Libvirt:AgentSocketDirectory", Path.Combine(directory, "agents"));
            builder.Configuration.AddInMemoryCollection(effective);
            builder.Logging.ClearProviders();
            builder.Services.AddSingleton(store);
            services?.Invoke(builder.Services);
            builder.Services.AddLibvirtIntegration(builder.Configuration);
            builder.WebHost.ConfigureKestrel(k => k.ListenUnixSocket(socket));
            app = builder.Build();
            app.MapLibvirtEndpoints();
            beforeStart?.Invoke(app.Services.GetRequiredService<DomainLifecycleFeed>());
            await app.StartAsync();
            return new LibvirtApiHost(app, directory, socket);
        }
        catch
        {
            if (app is not null)
            {
                await app.DisposeAsync();
            }
            System.IO.Directory.Delete(directory, recursive: true);
            throw;
        }
    }

    public static HttpClient CreateClient(string socketPath)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await s.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), ct);
                    return new NetworkStream(s, ownsSocket: true);
                }
                catch
                {
                    s.Dispose();
                    throw;
                }
            },
        };
        return new HttpClient(handler) { BaseAddress = new Uri("http://overlayd"), Timeout = TimeSpan.FromSeconds(30) };
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await _app.StopAsync(timeout.Token);
        }
        finally
        {
            await _app.DisposeAsync();
            System.IO.Directory.Delete(Directory, recursive: true);
        }
    }
}
