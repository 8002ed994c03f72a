using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OverlayKvm.Core.Store;
using OverlayKvm.HostDaemon.Engine;
using OverlayKvm.HostDaemon.Hosting;

namespace OverlayKvm.HostDaemon.Libvirt;

/// <summary>
/// Puts what libvirt says about this host's domains into the store (issue 15, seed 004 R4.16): a domain destroyed,
/// shut down, crashed or undefined becomes <see cref="Core.Model.DomainRecord.Stopped"/>, so every host's overlayd
/// drops its apps from peers' documents (the agents flush its routes and rules) and the directory marks them
/// unreachable; its engine slots here go at once. A start makes it reachable again; a start that is the arrival of
/// a live migration also moves the domain to this host. Only the domain's own host records its state: a source host
/// seeing "stopped (migrated)" releases its slots and leaves the record to the destination. Store writes run on this
/// service's task, never on the lifecycle feed's worker, because an etcd write may wait for a quorum.
/// </summary>
internal sealed partial class DomainRunStateRecorder(
    DomainLifecycleFeed feed,
    IOverlayStore store,
    LibvirtConnectionHolder holder,
    IOptionsMonitor<LibvirtOptions> options,
    ILogger<DomainRunStateRecorder> logger,
    LocalHost? host = null,
    EngineRegistry? engine = null,
    ArrivalRegionPlugger? plugger = null) : BackgroundService
{
    // libvirt-domain.h: virDomainEventStartedDetailType / virDomainEventStoppedDetailType.
    private const int StartedMigrated = 1;
    private const int StoppedMigrated = 3;

    // Null item: re-read every domain's state from libvirt (after a (re)connection, when events may have been missed).
    private readonly Channel<DomainLifecycleEvent?> _inbox = System.Threading.Channels.Channel.CreateUnbounded<DomainLifecycleEvent?>(new UnboundedChannelOptions { SingleReader = true });

    // Subscribed here, not in ExecuteAsync (which .NET runs on the thread pool): no event published after start is missed.
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        if (host is not null)
        {
            feed.EventObserved += OnEvent;
            feed.Reconciled += OnReconciled;
        }
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (host is null)
        {
            return; // no inventory identity (a libvirt-only test host): nothing of ours to record
        }

        try
        {
            await foreach (var item in _inbox.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    if (item is null)
                    {
                        Resync(host.Name);
                    }
                    else
                    {
                        Apply(item, host.Name);
                    }
                }
                catch (Exception ex) when (ex is StoreUnavailableException or ModelValidationException or EntityNotFoundException
                                               or LibvirtException or LibvirtUnavailableException)
                {
                    Log.RecordFailed(logger, item?.Domain ?? "(all)", ex.Message);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            feed.EventObserved -= OnEvent;
            feed.Reconciled -= OnReconciled;
        }
    }

    private void OnEvent(DomainLifecycleEvent e) => _inbox.Writer.TryWrite(e);

    private void OnReconciled(ReconcileReport report) => _inbox.Writer.TryWrite(null);

    private void Apply(DomainLifecycleEvent e, string local)
    {
        var record = store.GetDomain(e.Domain);
        switch (e.Kind)
        {
            case DomainEventKind.Started when e.Detail == StartedMigrated:
                if (record is not null)
                {
                    if (!string.Equals(record.Host, local, StringComparison.Ordinal))
                    {
                        store.UpsertDomain(record.Name, record.Uuid ?? e.Uuid, local, record.Address);
                        Log.Arrived(logger, e.Domain, record.Host);
                    }
                    store.SetDomainStopped(e.Domain, false);
                    // It came without its regions (libvirt migrates no ivshmem device): plug in this host's.
                    plugger?.Plug(e.Domain);
                }
                break;
            case DomainEventKind.Started:
                if (IsHere(record, local))
                {
                    store.SetDomainStopped(e.Domain, false);
                }
                break;
            case DomainEventKind.Stopped when e.Detail == StoppedMigrated:
                // Gone to another host: its slots here are stale; the destination records where it runs now.
                Release(e.Domain);
                break;
            case DomainEventKind.Stopped or DomainEventKind.Crashed:
                Release(e.Domain);
                if (IsHere(record, local))
                {
                    store.SetDomainStopped(e.Domain, true);
                    Log.Stopped(logger, e.Domain, e.Kind == DomainEventKind.Crashed ? "crashed" : "stopped");
                }
                break;
            case DomainEventKind.Undefined:
                Release(e.Domain);
                if (IsHere(record, local))
                {
                    store.SetDomainStopped(e.Domain, true);
                    if (options.CurrentValue.RemoveAppsOnUndefine)
                    {
                        RemoveApps(e.Domain);
                    }
                }
                break;
        }
    }

    private static bool IsHere(Core.Model.DomainRecord? record, string local) =>
        record is not null && string.Equals(record.Host, local, StringComparison.Ordinal);

    private void Release(string domain)
    {
        int released = engine?.RemoveDomain(domain) ?? 0;
        if (released > 0)
        {
            Log.Released(logger, domain, released);
        }
    }

    private void RemoveApps(string domain)
    {
        foreach (var app in store.ListApplicationsInDomain(domain))
        {
            store.UndefineApplication(app.Group, app.Name);
            Log.AppRemoved(logger, app.Group, app.Name, domain);
        }
    }

    /// <summary>
    /// Brings the store in line with libvirt for the domains both know on this host. A domain libvirt does not hold
    /// is left as it is: it may be declared (domain-define) before it exists, and undefine is an event of its own.
    /// </summary>
    private void Resync(string local)
    {
        if (!holder.IsConnected)
        {
            return;
        }

        var active = holder.Use(static connection =>
        {
            var states = new Dictionary<string, bool>(StringComparer.Ordinal);
            foreach (var domain in connection.ListAllDomains())
            {
                using (domain)
                {
                    states[domain.Name] = domain.IsActive;
                }
            }
            return states;
        });
        foreach (var record in store.ListDomains())
        {
            if (IsHere(record, local) && active.TryGetValue(record.Name, out bool running) && record.Stopped == running)
            {
                store.SetDomainStopped(record.Name, !running);
                Log.Resynced(logger, record.Name, running ? "running" : "stopped");
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(120, LogLevel.Information, "domain {Domain} {Kind} on this host: its apps are unreachable until it starts again")]
        public static partial void Stopped(ILogger logger, string domain, string kind);

        [LoggerMessage(121, LogLevel.Information, "domain {Domain} arrived by live migration from host {From}: the store now places it here")]
        public static partial void Arrived(ILogger logger, string domain, string from);

        [LoggerMessage(122, LogLevel.Information, "domain {Domain}: {Count} engine registration(s) released")]
        public static partial void Released(ILogger logger, string domain, int count);

        [LoggerMessage(123, LogLevel.Information, "domain {Domain} undefined: app {Group}/{App} removed (Libvirt:RemoveAppsOnUndefine)")]
        public static partial void AppRemoved(ILogger logger, string group, string app, string domain);

        [LoggerMessage(124, LogLevel.Information, "domain {Domain} is {State} in libvirt: store updated after reconnecting")]
        public static partial void Resynced(ILogger logger, string domain, string state);

        [LoggerMessage(125, LogLevel.Warning, "could not record the run state of domain {Domain}: {Reason}")]
        public static partial void RecordFailed(ILogger logger, string domain, string reason);
    }
}
