using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.Store;
using OverlayKvm.HostDaemon.Hosting;

namespace OverlayKvm.HostDaemon.Libvirt;

/// <summary>
/// Gives this host's running domains the address libvirt knows for them (issue 11) when the operator gave none:
/// every <see cref="LibvirtOptions.AddressRefreshInterval"/> it asks libvirt (<see cref="DomainAddressResolver"/>) for
/// each local, running domain whose address is missing or was learned before, and writes a new one to the store as
/// <see cref="DomainAddressSource.Libvirt"/>. A domain that just started is retried at every tick until its lease
/// appears; a lease that moves is followed. The store itself refuses to replace an operator's address, so a
/// <c>domain-define --address</c> racing a tick always wins. Documents carry the store's address, so peers follow.
/// </summary>
internal sealed partial class DomainAddressLearner(
    IOverlayStore store,
    LibvirtConnectionHolder holder,
    IOptionsMonitor<LibvirtOptions> options,
    TimeProvider time,
    ILogger<DomainAddressLearner> logger,
    LocalHost? host = null) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.CurrentValue.AddressRefreshInterval;
        if (host is null || interval <= TimeSpan.Zero)
        {
            return; // no inventory identity (a libvirt-only test host), or switched off by configuration
        }

        using var timer = new PeriodicTimer(interval, time);
        try
        {
            do
            {
                if (holder.IsConnected)
                {
                    LearnOnce(host.Name);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One pass over this host's domains; returns how many addresses it wrote.</summary>
    internal int LearnOnce(string localHost)
    {
        int written = 0;
        IReadOnlyList<DomainRecord> domains;
        try
        {
            domains = store.ListDomains();
        }
        catch (StoreUnavailableException ex)
        {
            Log.PassFailed(logger, ex.Message);
            return 0;
        }

        foreach (var record in domains)
        {
            if (!string.Equals(record.Host, localHost, StringComparison.Ordinal) || record.Stopped
                || (record.Address is not null && record.AddressSource == DomainAddressSource.Operator))
            {
                continue;
            }

            try
            {
                var found = holder.Use(connection =>
                {
                    using var domain = connection.TryLookupByName(record.Name);
                    return domain is { IsActive: true } ? DomainAddressResolver.Resolve(domain) : null;
                });
                if (found is not { } learned || Equals(learned.Address, record.Address))
                {
                    continue;
                }

                var stored = store.SetDomainAddress(record.Name, learned.Address, DomainAddressSource.Libvirt);
                if (stored.AddressSource == DomainAddressSource.Libvirt && Equals(stored.Address, learned.Address))
                {
                    written++;
                    Log.Learned(logger, record.Name, learned.Address.ToString(), learned.Source, record.Address?.ToString() ?? "none");
                }
            }
            catch (Exception ex) when (ex is LibvirtException or LibvirtUnavailableException or StoreUnavailableException
                                           or ModelValidationException or EntityNotFoundException)
            {
                Log.DomainFailed(logger, record.Name, ex.Message);
            }
        }
        return written;
    }

    private static partial class Log
    {
        [LoggerMessage(130, LogLevel.Information, "domain {Domain}: address {Address} learned from libvirt ({Source}; was {Previous})")]
        public static partial void Learned(ILogger logger, string domain, string address, string source, string previous);

        [LoggerMessage(131, LogLevel.Warning, "domain {Domain}: its address could not be learned from libvirt this time: {Reason}")]
        public static partial void DomainFailed(ILogger logger, string domain, string reason);

        [LoggerMessage(132, LogLevel.Warning, "learning domain addresses from libvirt skipped this time: {Reason}")]
        public static partial void PassFailed(ILogger logger, string reason);
    }
}
