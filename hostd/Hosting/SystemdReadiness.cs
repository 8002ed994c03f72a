using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Systemd;

namespace OverlayKvm.HostDaemon.Hosting;

/// <summary>
/// sd_notify through Microsoft.Extensions.Hosting.Systemd: READY=1 once the host has started (the admin socket
/// listens), STOPPING=1 when it stops, SIGTERM as the shutdown signal. <c>AddSystemd()</c> alone switches on only
/// when systemd is the parent process; a <c>NOTIFY_SOCKET</c> handed over by anyone else (the integration tests,
/// another supervisor speaking the protocol) gets the same lifetime, so one code path serves both.
/// </summary>
internal static class SystemdReadiness
{
    private const string NotifySocketVariable = "NOTIFY_SOCKET";

    public static IServiceCollection AddSystemdReadiness(this IServiceCollection services)
    {
        if (SystemdHelpers.IsSystemdService())
        {
            return services.AddSystemd();
        }
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable(NotifySocketVariable)))
        {
            services.TryAddSingleton<ISystemdNotifier, SystemdNotifier>();
            services.AddSingleton<IHostLifetime, SystemdLifetime>();
        }
        return services;
    }
}
