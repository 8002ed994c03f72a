using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using System.Net.Sockets;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OverlayKvm.HostDaemon.Hosting;

namespace OverlayKvm.HostDaemon.Metrics;

/// <summary>
/// The opt-in Prometheus endpoint: <c>GET /metrics</c> on <see cref="DaemonOptions.MetricsListen"/>, and nothing else.
/// It is a server of its own, not a second listener of the admin API, so a TCP metrics port can never reach an
/// admin endpoint. Not started when the option is unset.
/// </summary>
internal sealed partial class MetricsEndpointService(IOptions<DaemonOptions> options, OverlayMetrics metrics, ILogger<MetricsEndpointService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.Value.MetricsListen is not { } listen || !MetricsListenAddress.TryParse(listen, out MetricsListenAddress? address, out _))
        {
            return;
        }
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.ClearProviders();
        if (address!.UnixPath is { } socketPath)
        {
            // Like the admin socket: created with its mode (the admin socket's, Overlayd:SocketMode) from the first
            // moment it can be reached, never with the umask's mode until a later chmod (issue 14 item 10).
            DaemonOptionsValidator.TryParseMode(options.Value.SocketMode, out UnixFileMode mode);
            builder.WebHost.UseSockets(s => s.CreateBoundListenSocket = endpoint =>
                endpoint is UnixDomainSocketEndPoint unix && unix.ToString() == socketPath
                    ? PrivateUnixListener.Create(socketPath, mode)
                    : SocketTransportOptions.CreateDefaultBoundListenSocket(endpoint));
        }
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = 0;
            if (address.UnixPath is { } path)
            {
                AdminSocketPath.PrepareForBind(path);
                k.ListenUnixSocket(path, l => l.Protocols = HttpProtocols.Http1);
            }
            else
            {
                k.Listen(address.Tcp!, l => l.Protocols = HttpProtocols.Http1);
            }
        });
        await using WebApplication app = builder.Build();
        app.MapGet("/metrics", async (HttpContext context) =>
        {
            context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
            await metrics.WriteAsync(context.Response.Body, context.RequestAborted);
        });
        await app.StartAsync(stoppingToken);
        Log.Listening(logger, address!.ToString());
        try
        {
            await Task.Delay(Timeout.Infinite, stoppingToken);
        }
        catch (OperationCanceledException)
        {
        }
        await app.StopAsync(CancellationToken.None);
        if (address.UnixPath is { } socket)
        {
            File.Delete(socket);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Prometheus metrics on {Address} (GET /metrics)")]
        public static partial void Listening(ILogger logger, string address);
    }
}
