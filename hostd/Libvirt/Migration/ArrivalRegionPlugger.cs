using System.Xml.Linq;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OverlayKvm.HostDaemon.Channel;
using OverlayKvm.HostDaemon.Engine;

namespace OverlayKvm.HostDaemon.Libvirt;

/// <summary>
/// A domain arrived on this host by live migration (started, detail migrated): it came without region devices
/// (libvirt migrates no ivshmem device, so the source unplugged them), so this host's regions of its groups are
/// laid out (before QEMU maps them: it would otherwise create blank files) and hot-plugged, and the agent is told
/// to join: it scans PCI afresh, maps the new BAR and registers here. A region already in the live definition is
/// left alone. Failures are logged: the domain then runs on the sealed path, as any member without a region.
/// </summary>
internal sealed partial class ArrivalRegionPlugger(
    LibvirtConnectionHolder holder,
    IOptionsMonitor<LibvirtOptions> options,
    ILogger<ArrivalRegionPlugger> logger,
    EngineRegistry? engine = null,
    ChannelSupervisorService? channels = null)
{
    /// <summary>Returns the names of the region devices plugged in.</summary>
    public IReadOnlyList<string> Plug(string domainName)
    {
        if (engine is null || !options.CurrentValue.PlugRegionsOnArrival)
        {
            return [];
        }
        IReadOnlyList<EngineRegionGrant> grants;
        try
        {
            grants = engine.GrantsFor(domainName);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException or ArgumentException)
        {
            // No region file, nothing to plug: the domain uses the sealed path here until the next start.
            Log.NotPlugged(logger, domainName, ex.Message);
            return [];
        }
        int sizeMiB = options.CurrentValue.ShmemSizeMiB;
        var plugged = holder.Use(connection =>
        {
            using LibvirtDomain domain = connection.LookupByName(domainName);
            HashSet<string> present = RegionDevices.Names(domain.GetXml(inactive: false));
            var added = new List<string>();
            foreach (EngineRegionGrant grant in grants)
            {
                // Named as the injector names it in a definition (and as the hook's isolation check expects it).
                string name = DomainXmlInjector.ShmemName(grant.Group);
                if (present.Contains(name))
                {
                    continue;
                }
                XElement device = DomainXmlInjector.IvshmemRegion(name, sizeMiB);
                domain.AttachDevice(device.ToString(SaveOptions.DisableFormatting), DomainModification.Live);
                added.Add(name);
            }
            return added;
        });
        Log.Plugged(logger, domainName, plugged.Count, string.Join(", ", plugged));
        if (channels?.Client(domainName) is { } client)
        {
            // Not awaited: the recorder's queue must not wait on a guest; a client not connected yet says join when it connects.
            _ = client.JoinEngineAsync(CancellationToken.None);
        }
        return plugged;
    }

    private static partial class Log
    {
        [LoggerMessage(146, LogLevel.Warning, "domain {Domain} arrived by live migration but this host's regions could not be laid out: {Reason}; sealed path")]
        public static partial void NotPlugged(ILogger logger, string domain, string reason);

        [LoggerMessage(145, LogLevel.Information, "domain {Domain} arrived by live migration: {Count} engine region(s) of this host plugged in ({Regions})")]
        public static partial void Plugged(ILogger logger, string domain, int count, string regions);
    }
}
