using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OverlayKvm.Core.Store;

namespace OverlayKvm.HostDaemon.Hosting;

/// <summary>Puts this host into the inventory (name, address, capacity) when the daemon starts.</summary>
internal sealed partial class InventoryRegistration(IOverlayStore store, LocalHost host, ILogger<InventoryRegistration> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var record = store.UpsertHost(host.Name, host.Address, host.Capacity);
        Log.Registered(logger, record.Name, record.Address.ToString(), record.Capacity, store.CurrentVersion());
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "host {Host} ({Address}, capacity {Capacity}) in the inventory; store version {Version}")]
        public static partial void Registered(ILogger logger, string host, string address, int capacity, long version);
    }
}
