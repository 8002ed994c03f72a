using System.Diagnostics;
using System.Xml.Linq;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OverlayKvm.Core.Api;
using OverlayKvm.Core.Channel;
using OverlayKvm.Core.Cluster;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.Store;
using OverlayKvm.HostDaemon.Channel;
using OverlayKvm.HostDaemon.Engine;
using OverlayKvm.HostDaemon.Hosting;

namespace OverlayKvm.HostDaemon.Libvirt;

/// <summary>
/// <c>overlayctl domain-migrate DOMAIN --to HOST</c> on the domain's host (docs/migration.md). libvirt refuses to
/// migrate a domain with an ivshmem device, so: the agent leaves the engine (it unmaps the regions and confirms:
/// a BAR mapped when its device goes gives SIGBUS) → its slots here are freed (peers drop it from their engine
/// answers and use the sealed path) → the region devices are hot-unplugged and their removal awaited (the guest
/// answers the ACPI eject) → libvirt live-migrates the domain to the destination's daemon. The destination's
/// overlayd sees the arrival, places the domain there in the store, plugs in its own regions and tells the agent
/// to join (<see cref="ArrivalRegionPlugger"/>). A failure after the leave puts back what was unplugged and tells
/// the agent to join again here, so the domain keeps its engine path on this host.
/// </summary>
internal sealed partial class DomainMigrator(
    IOverlayStore store,
    LocalHost host,
    IHostLiveness liveness,
    IOptionsMonitor<LibvirtOptions> options,
    ILogger<DomainMigrator> logger,
    ChannelSupervisorService? channels = null,
    EngineRegistry? engine = null)
{
    // One migration at a time from this host: each holds two libvirt connections and moves a guest's memory.
    private readonly SemaphoreSlim _one = new(1, 1);

    public async Task<MigrateResponse> MigrateAsync(string name, MigrateRequest request, CancellationToken cancellationToken)
    {
        string to = request.To;
        DomainRecord record = store.GetDomain(name)
            ?? throw new MigrationRefusedException(StatusCodes.Status404NotFound, $"domain-migrate {name}: no such domain in the store");
        if (!string.Equals(record.Host, host.Name, StringComparison.Ordinal))
        {
            throw new MigrationRefusedException(StatusCodes.Status409Conflict,
                $"domain-migrate {name}: the store places it on host {record.Host}, not on this host ({host.Name}): ask that host's overlayd");
        }
        if (string.Equals(to, host.Name, StringComparison.Ordinal))
        {
            throw new MigrationRefusedException(StatusCodes.Status409Conflict, $"domain-migrate {name}: it already runs on {to}");
        }
        HostRecord target = FindHost(to)
            ?? throw new MigrationRefusedException(StatusCodes.Status404NotFound, $"domain-migrate {name}: no host '{to}' in the inventory");
        if (!liveness.IsAlive(to))
        {
            throw new MigrationRefusedException(StatusCodes.Status409Conflict, $"domain-migrate {name}: host {to} is not alive in the cluster");
        }

        if (!await _one.WaitAsync(0, cancellationToken).ConfigureAwait(false))
        {
            throw new MigrationRefusedException(StatusCodes.Status409Conflict, $"domain-migrate {name}: another migration from this host is in progress");
        }
        try
        {
            return await MoveAsync(name, target, request.Force, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _one.Release();
        }
    }

    private async Task<MigrateResponse> MoveAsync(string name, HostRecord target, bool force, CancellationToken cancellationToken)
    {
        LibvirtOptions o = options.CurrentValue;
        string peerUri = o.PeerUris.TryGetValue(target.Name, out string? configured) ? configured : $"qemu+ssh://{target.Address}/system";
        string? migrationUri = o.MigrationUris.GetValueOrDefault(target.Name);

        using LibvirtConnection source = Open(o.Uri, name, "this host's libvirt");
        using LibvirtDomain domain = LookupRunning(source, name);

        var clock = Stopwatch.StartNew();
        DomainChannelClient? client = channels?.Client(name);
        EngineLeaveReply? left = await LeaveAsync(name, client, o.EngineLeaveTimeout, force, cancellationToken).ConfigureAwait(false);
        double leaveSeconds = clock.Elapsed.TotalSeconds;
        engine?.RemoveDomain(name);

        clock.Restart();
        List<XElement> regions = RegionDevices.InLiveXml(domain.GetXml(inactive: false));
        var unplugged = new List<XElement>();
        try
        {
            foreach (XElement region in regions)
            {
                await Task.Run(() => domain.DetachDevice(region.ToString(SaveOptions.DisableFormatting), DomainModification.Live), cancellationToken).ConfigureAwait(false);
                unplugged.Add(region);
            }
            await WaitUnpluggedAsync(domain, regions, o.RegionUnplugTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is LibvirtException or TimeoutException)
        {
            await PutBackAsync(name, domain, unplugged, client).ConfigureAwait(false);
            throw new MigrationRefusedException(StatusCodes.Status502BadGateway,
                $"domain-migrate {name}: unplugging its engine regions failed: {ex.Message}; the domain stays on this host with its regions");
        }
        double unplugSeconds = clock.Elapsed.TotalSeconds;
        Log.Unplugged(logger, name, regions.Count, leaveSeconds, unplugSeconds);

        clock.Restart();
        try
        {
            using LibvirtConnection destination = Open(peerUri, name, $"host {target.Name}'s libvirt");
            using LibvirtDomain moved = await Task.Run(() => domain.MigrateLive(destination, migrationUri), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is LibvirtException or MigrationRefusedException)
        {
            await PutBackAsync(name, domain, unplugged, client).ConfigureAwait(false);
            throw new MigrationRefusedException(StatusCodes.Status502BadGateway,
                $"domain-migrate {name}: libvirt could not migrate it to {target.Name} ({peerUri}): {ex.Message}; it stays on this host, its engine regions plugged in again");
        }
        double migrateSeconds = clock.Elapsed.TotalSeconds;
        Log.Migrated(logger, name, target.Name, migrateSeconds);

        var names = new List<string>(regions.Count);
        foreach (XElement region in regions)
        {
            names.Add(RegionDevices.NameOf(region));
        }
        return new MigrateResponse(name, host.Name, target.Name, left is not null, left?.Unmapped ?? 0, names, leaveSeconds, unplugSeconds, migrateSeconds);
    }

    /// <summary>The agent's confirmation, or null when it gave none and <paramref name="force"/> says go on anyway.</summary>
    private async Task<EngineLeaveReply?> LeaveAsync(string name, DomainChannelClient? client, TimeSpan timeout, bool force, CancellationToken cancellationToken)
    {
        string problem;
        if (client is null)
        {
            problem = $"domain {name}: overlayd does not watch its agent channel, so the agent cannot confirm it unmapped the engine regions";
        }
        else
        {
            try
            {
                return await client.LeaveEngineAsync(timeout, cancellationToken).ConfigureAwait(false);
            }
            catch (AgentUnavailableException ex)
            {
                problem = ex.Message;
            }
        }

        if (force)
        {
            Log.Forced(logger, name, problem);
            return null;
        }
        if (client is not null)
        {
            await client.JoinEngineAsync(cancellationToken).ConfigureAwait(false);
        }
        throw new MigrationRefusedException(StatusCodes.Status409Conflict,
            $"domain-migrate {name}: {problem}; nothing was changed (--force unplugs the regions anyway: an agent that still maps one dies of SIGBUS)");
    }

    private static async Task WaitUnpluggedAsync(LibvirtDomain domain, List<XElement> regions, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (regions.Count == 0)
        {
            return;
        }
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            HashSet<string> present = RegionDevices.Names(domain.GetXml(inactive: false));
            bool anyLeft = false;
            foreach (XElement region in regions)
            {
                anyLeft |= present.Contains(RegionDevices.NameOf(region));
            }
            if (!anyLeft)
            {
                return;
            }
            if (deadline.Elapsed > timeout)
            {
                throw new TimeoutException($"the guest did not release its region devices within {timeout.TotalSeconds:0.#} s (does it run a kernel that answers the ACPI eject, with <features><acpi/></features>?)");
            }
            await Task.Delay(50, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>A failed move: plug back what was unplugged (the regions still exist here) and let the agent attach again.</summary>
    private async Task PutBackAsync(string name, LibvirtDomain domain, List<XElement> unplugged, DomainChannelClient? client)
    {
        HashSet<string> present;
        try
        {
            present = RegionDevices.Names(domain.GetXml(inactive: false));
        }
        catch (LibvirtException ex)
        {
            Log.PutBackFailed(logger, name, "(all)", ex.Message);
            return;
        }
        foreach (XElement region in unplugged)
        {
            if (present.Contains(RegionDevices.NameOf(region)))
            {
                continue; // the unplug never completed: the device is still there
            }
            try
            {
                domain.AttachDevice(RegionDevices.ForPlug(region), DomainModification.Live);
            }
            catch (LibvirtException ex)
            {
                Log.PutBackFailed(logger, name, RegionDevices.NameOf(region), ex.Message);
            }
        }
        if (client is not null)
        {
            await client.JoinEngineAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    private HostRecord? FindHost(string name)
    {
        foreach (HostRecord h in store.ListHosts())
        {
            if (string.Equals(h.Name, name, StringComparison.Ordinal))
            {
                return h;
            }
        }
        return null;
    }

    private static LibvirtConnection Open(string uri, string domain, string what)
    {
        try
        {
            return LibvirtConnection.Open(uri);
        }
        catch (LibvirtException ex)
        {
            throw new MigrationRefusedException(StatusCodes.Status502BadGateway, $"domain-migrate {domain}: cannot connect to {what} at {uri}: {ex.Message}");
        }
    }

    private static LibvirtDomain LookupRunning(LibvirtConnection connection, string name)
    {
        LibvirtDomain domain = connection.TryLookupByName(name)
            ?? throw new MigrationRefusedException(StatusCodes.Status404NotFound, $"domain-migrate {name}: libvirt on this host has no such domain");
        if (!domain.IsActive)
        {
            domain.Dispose();
            throw new MigrationRefusedException(StatusCodes.Status409Conflict, $"domain-migrate {name}: it is not running (only a running domain migrates live)");
        }
        return domain;
    }

    private static partial class Log
    {
        [LoggerMessage(140, LogLevel.Information, "domain {Domain}: agent left the engine in {Leave:0.###} s; {Count} region device(s) unplugged in {Unplug:0.###} s")]
        public static partial void Unplugged(ILogger logger, string domain, int count, double leave, double unplug);

        [LoggerMessage(141, LogLevel.Information, "domain {Domain}: migrated live to host {Host} in {Seconds:0.###} s")]
        public static partial void Migrated(ILogger logger, string domain, string host, double seconds);

        [LoggerMessage(142, LogLevel.Warning, "domain {Domain}: --force: unplugging its regions without the agent's confirmation ({Reason})")]
        public static partial void Forced(ILogger logger, string domain, string reason);

        [LoggerMessage(143, LogLevel.Error, "domain {Domain}: region {Region} could not be plugged back after a failed migration: {Reason}")]
        public static partial void PutBackFailed(ILogger logger, string domain, string region, string reason);
    }
}
