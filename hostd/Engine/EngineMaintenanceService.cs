using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace OverlayKvm.HostDaemon.Engine;

/// <summary>Every <see cref="EngineOptions.ScrubInterval"/>: expire silent slots, drop the regions of undefined groups, then verify and repair the regions.</summary>
internal sealed partial class EngineMaintenanceService(
    EngineRegistry registry, IOptions<EngineOptions> options, TimeProvider time, ILogger<EngineMaintenanceService> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            registry.AdoptExistingRegions();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            Log.MaintenanceFailed(logger, e);
        }

        using var timer = new PeriodicTimer(options.Value.ScrubInterval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                registry.ExpireStale();
                registry.RemoveUndefinedGroups();
                registry.Scrub();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException)
            {
                // A region file removed or unmapped under us: report and try again next round, do not stop the daemon.
                Log.MaintenanceFailed(logger, e);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Error, Message = "engine maintenance round failed")]
        public static partial void MaintenanceFailed(ILogger logger, Exception exception);
    }
}
