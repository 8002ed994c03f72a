using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OverlayKvm.GuestAgent.Hosting;

namespace OverlayKvm.GuestAgent.Tun;

/// <summary>
/// Reconciles adapters with the apps still running when the agent starts, then notices app processes that exit
/// without unregistering (killed, crashed) and uncounts them, so a 1→0 transition is never missed.
/// </summary>
internal sealed partial class AppReaperService : BackgroundService
{
    private readonly AdapterManager _adapters;
    private readonly AgentOptions _options;
    private readonly ILogger<AppReaperService> _logger;

    public AppReaperService(AdapterManager adapters, IOptions<AgentOptions> options, ILogger<AppReaperService> logger)
    {
        _adapters = adapters;
        _options = options.Value;
        _logger = logger;
    }

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        // Before the control socket and host channel serve anything: re-attach what survived the last run.
        _adapters.Reconcile();
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.ReapInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    int n = _adapters.ReapExited();
                    if (n > 0)
                    {
                        Log.Reaped(_logger, n);
                    }
                }
                catch (Exception ex) when (ex is IOException or IpCommandException or UnauthorizedAccessException)
                {
                    Log.ReapFailed(_logger, ex);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private static partial class Log
    {
        [LoggerMessage(40, LogLevel.Information, "{Count} app process(es) exited without unregistering: uncounted")]
        public static partial void Reaped(ILogger logger, int count);

        [LoggerMessage(41, LogLevel.Error, "uncounting exited app processes failed")]
        public static partial void ReapFailed(ILogger logger, Exception ex);
    }
}
