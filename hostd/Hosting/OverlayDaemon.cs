using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.Routing;
using System.Net.Sockets;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OverlayKvm.Core.Api;
using OverlayKvm.HostDaemon.Api;
using OverlayKvm.HostDaemon.Cluster;
using OverlayKvm.HostDaemon.Engine;
using OverlayKvm.HostDaemon.Libvirt;
using OverlayKvm.HostDaemon.Rebalance;

namespace OverlayKvm.HostDaemon.Hosting;

/// <summary>Builds and runs overlayd: configuration, services, the admin API on its unix socket.</summary>
public static class OverlayDaemon
{
    public static async Task<int> RunAsync(string[] args)
    {
        if (args is ["--help"] or ["-h"]) { Console.WriteLine(DaemonArguments.Usage); return 0; }
        if (args is ["--version"]) { Console.WriteLine($"overlayd {SystemEndpoints.DaemonVersion}"); return 0; }
        if (DaemonArguments.Check(args) is { } problem)
        {
            Console.Error.WriteLine($"overlayd: {problem}\n{DaemonArguments.Usage}");
            return 2;
        }

        WebApplication app;
        try
        {
            app = Build(args);
        }
        catch (OptionsValidationException ex)
        {
            foreach (var failure in ex.Failures) Console.Error.WriteLine($"overlayd: configuration: {failure}");
            return 2;
        }

        try
        {
            await app.RunAsync();
            return 0;
        }
        catch (OperationCanceledException)
        {
            // SIGTERM (or Ctrl-C) while the services were still starting: the host cancels StartAsync and stops
            // what had started. A requested stop, not a failure (issue 14 item 11: this used to abort the process).
            Console.Error.WriteLine("overlayd: stopped during start-up");
            return 0;
        }
        catch (Exception ex) when (ex is InvalidOperationException or IOException or UnauthorizedAccessException or OptionsValidationException
                                       or OverlayKvm.Core.Store.StoreUnavailableException)
        {
            // Start-up failures an operator can fix (socket in use, unwritable state directory, bad options): one line.
            var message = ex is OptionsValidationException v ? string.Join("; ", v.Failures) : ex.Message;
            Console.Error.WriteLine($"overlayd: cannot start: {message}");
            return 1;
        }
    }

    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.Configuration.AddEnvironmentVariables("OVERLAYKVM_");
        builder.Configuration.AddCommandLine(args, new Dictionary<string, string>(DaemonArguments.SwitchMappings));
        if (builder.Configuration["ConfigFile"] is { } file)
        {
            builder.Configuration.AddJsonFile(Path.GetFullPath(file), optional: false);
            builder.Configuration.AddEnvironmentVariables("OVERLAYKVM_");
            builder.Configuration.AddCommandLine(args, new Dictionary<string, string>(DaemonArguments.SwitchMappings));
        }

        builder.Logging.ClearProviders();
        // Kestrel's per-request lines are noise on an admin socket; warnings and errors still show.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ "; o.UseUtcTimestamp = true; });

        builder.Services.AddOverlayHostDaemon(builder.Configuration);

        // Validate before binding so a bad socket path is reported as configuration, not as a Kestrel error.
        var options = new DaemonOptions();
        builder.Configuration.GetSection(DaemonOptions.Section).Bind(options);
        var validation = new DaemonOptionsValidator().Validate(null, options);
        if (validation.Failed) throw new OptionsValidationException(DaemonOptions.Section, typeof(DaemonOptions), validation.Failures);

        AdminSocketPath.PrepareForBind(options.Socket);
        DaemonOptionsValidator.TryParseMode(options.SocketMode, out UnixFileMode socketMode);
        // Kestrel would bind and listen with the umask's mode and leave the chmod to later: create the admin
        // socket ourselves, with its mode from the first moment it can be reached.
        builder.WebHost.UseSockets(s => s.CreateBoundListenSocket = endpoint =>
            endpoint is UnixDomainSocketEndPoint unix && unix.ToString() == options.Socket
                ? PrivateUnixListener.Create(options.Socket, socketMode)
                : SocketTransportOptions.CreateDefaultBoundListenSocket(endpoint));
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = options.MaxRequestBytes;
            k.ListenUnixSocket(options.Socket, l => l.Protocols = HttpProtocols.Http1);
        });

        var app = builder.Build();

        app.UseMiddleware<StaleReadMarker>();
        app.UseMiddleware<ApiErrors>();
        app.MapOverlayApi();
        return app;
    }

    /// <summary>Every admin API endpoint. Feature folders add theirs here.</summary>
    public static IEndpointRouteBuilder MapOverlayApi(this IEndpointRouteBuilder app)
    {
        app.MapSystemEndpoints();
        app.MapGroupEndpoints();
        app.MapAppEndpoints();
        app.MapDomainEndpoints();
        app.MapHostEndpoints();
        app.MapDomainStatEndpoints();
        app.MapEngineMoveEndpoints();
        app.MapEngineEndpoints();
        app.MapPolicyApi();
        app.MapLibvirtEndpoints();
        app.MapRebalanceEndpoints();
        return app;
    }
}
