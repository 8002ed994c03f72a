using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;

namespace OverlayKvm.HostDaemon.Libvirt;

/// <summary>
/// Keeps overlayd attached to libvirt:
///   connect (Polly retry, exponential back-off) → register lifecycle + close callbacks → reconcile every
///   domain (equip ours, publish a report) → handle events until the connection closes → start over.
/// libvirtd restarting therefore costs nothing: the reconcile pass after reconnecting equips domains that were
/// defined (or dropped into /etc/libvirt/qemu) while we were away. Events are handled on this service's own
/// task, never on the libvirt event-loop thread, because handling them calls libvirt.
/// </summary>
internal sealed partial class LibvirtEventService(
    IOptionsMonitor<LibvirtOptions> options,
    LibvirtConnectionHolder holder,
    DomainEquipper equipper,
    DomainLifecycleFeed feed,
    TimeProvider time,
    ILogger<LibvirtEventService> logger) : BackgroundService
{
    // Lifecycle events come at the rate operators start and stop VMs; an unbounded queue never drops one.
    private readonly Channel<DomainLifecycleEvent> _inbox = System.Threading.Channels.Channel.CreateUnbounded<DomainLifecycleEvent>(new UnboundedChannelOptions { SingleReader = true });

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.CurrentValue;
        if (!o.EventServiceEnabled)
        {
            Log.Disabled(logger);
            return;
        }
        EnsureAgentSocketDirectory(o.AgentSocketDirectory);
        var pipeline = new ResiliencePipelineBuilder { TimeProvider = time }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<LibvirtException>(),
                MaxRetryAttempts = int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = o.ReconnectInitialDelay,
                MaxDelay = o.ReconnectMaxDelay,
                OnRetry = args =>
                {
                    Log.ConnectFailed(logger, o.Uri, args.AttemptNumber + 1, args.RetryDelay, args.Outcome.Exception?.Message);
                    return ValueTask.CompletedTask;
                },
            })
            .Build();

        while (!stoppingToken.IsCancellationRequested)
        {
            LibvirtConnection connection;
            try
            {
                connection = await pipeline.ExecuteAsync(_ => ValueTask.FromResult(LibvirtConnection.Open(o.Uri)), stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            await RunConnectionAsync(connection, o, stoppingToken);
        }
    }

    private async Task RunConnectionAsync(LibvirtConnection connection, LibvirtOptions o, CancellationToken stoppingToken)
    {
        var closed = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        LifecycleSubscription? subscription = null;
        try
        {
            if (!connection.Uri.StartsWith("test:", StringComparison.Ordinal))
            {
                connection.SetKeepAlive(o.KeepAliveIntervalSeconds, (uint)o.KeepAliveCount);
            }
            subscription = LifecycleSubscription.Register(connection, e => _inbox.Writer.TryWrite(e), reason => closed.TrySetResult(reason), time);
            holder.Swap(connection);
            long number = feed.NextConnection();
            Log.Connected(logger, connection.Uri, number);
            Reconcile(connection, number);

            var reader = _inbox.Reader;
            long reportedFailures = 0;
            while (!closed.Task.IsCompleted && !stoppingToken.IsCancellationRequested)
            {
                // Wake at least every second to notice a dead connection even if the close callback never came.
                using var tick = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                tick.CancelAfter(TimeSpan.FromSeconds(1));
                try
                {
                    var waitForItem = reader.WaitToReadAsync(tick.Token).AsTask();
                    await Task.WhenAny(waitForItem, closed.Task);
                }
                catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
                {
                }
                while (reader.TryRead(out var item))
                {
                    Handle(connection, item);
                }
                long failures = subscription.CallbackFailures;
                if (failures != reportedFailures)
                {
                    Log.CallbackFailures(logger, connection.Uri, failures);
                    reportedFailures = failures;
                }
                if (!connection.IsAlive)
                {
                    closed.TrySetResult(-1);
                }
            }
            if (closed.Task.IsCompleted)
            {
                Log.Disconnected(logger, connection.Uri, await closed.Task);
            }
        }
        catch (LibvirtException ex)
        {
            Log.ConnectionFailed(logger, connection.Uri, ex.Message);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            holder.Swap(null);
            subscription?.Dispose();
            connection.Dispose();
        }
    }

    // libvirtd (root) creates each agent socket itself and hands QEMU the descriptor, so root-only is enough;
    // a missing directory would make every member domain fail to start.
    private void EnsureAgentSocketDirectory(string directory)
    {
        if (Directory.Exists(directory))
        {
            return;
        }
        if (OperatingSystem.IsLinux())
        {
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        else
        {
            Directory.CreateDirectory(directory);
        }
        Log.CreatedSocketDirectory(logger, directory);
    }

    // Equip first, then publish: a consumer that sees a Defined event sees the domain as overlayd left it.
    private void Handle(LibvirtConnection connection, DomainLifecycleEvent e)
    {
        if (e.Kind == DomainEventKind.Defined)
        {
            Equip(connection, e.Domain);
        }
        feed.Publish(e);
    }

    private void Equip(LibvirtConnection connection, string domain)
    {
        try
        {
            var result = equipper.Equip(connection, domain);
            if (result is { Changed: true })
            {
                Log.Equipped(logger, domain, string.Join(", ", result.Added));
                feed.Publish(result);
            }
        }
        catch (LibvirtNotFoundException)
        {
            // Undefined again before we got to it: nothing to equip.
        }
        catch (Exception ex) when (ex is LibvirtException or OverlayMetadataException or System.Xml.XmlException)
        {
            Log.EquipFailed(logger, domain, ex.Message);
        }
    }

    private void Reconcile(LibvirtConnection connection, long number)
    {
        var names = new List<string>();
        var equipped = new List<InjectionResult>();
        var failures = new List<string>();
        var domains = connection.ListAllDomains();
        try
        {
            foreach (var domain in domains)
            {
                names.Add(domain.Name);
                try
                {
                    var result = equipper.Equip(connection, domain, extraMembership: null);
                    if (result is { Changed: true })
                    {
                        equipped.Add(result);
                        feed.Publish(result);
                        Log.Equipped(logger, domain.Name, string.Join(", ", result.Added));
                    }
                }
                catch (Exception ex) when (ex is LibvirtException or OverlayMetadataException or System.Xml.XmlException)
                {
                    failures.Add($"domain '{domain.Name}': {ex.Message}");
                    Log.EquipFailed(logger, domain.Name, ex.Message);
                }
            }
        }
        finally
        {
            foreach (var domain in domains)
            {
                domain.Dispose();
            }
        }
        Log.Reconciled(logger, number, names.Count, equipped.Count, failures.Count);
        feed.Publish(new ReconcileReport(number, names, equipped, failures));
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "libvirt event service disabled by configuration (Libvirt:EventServiceEnabled=false)")]
        public static partial void Disabled(ILogger logger);

        [LoggerMessage(2, LogLevel.Warning, "libvirt connect to {Uri} failed (attempt {Attempt}), retrying in {Delay}: {Reason}")]
        public static partial void ConnectFailed(ILogger logger, string uri, int attempt, TimeSpan delay, string? reason);

        [LoggerMessage(3, LogLevel.Information, "connected to libvirt at {Uri} (connection #{Number}); lifecycle callbacks registered")]
        public static partial void Connected(ILogger logger, string uri, long number);

        [LoggerMessage(4, LogLevel.Warning, "libvirt connection to {Uri} closed (reason {Reason}); reconnecting")]
        public static partial void Disconnected(ILogger logger, string uri, int reason);

        [LoggerMessage(5, LogLevel.Warning, "libvirt connection to {Uri} failed: {Reason}; reconnecting")]
        public static partial void ConnectionFailed(ILogger logger, string uri, string reason);

        [LoggerMessage(6, LogLevel.Information, "equipped domain {Domain}: {Added}")]
        public static partial void Equipped(ILogger logger, string domain, string added);

        [LoggerMessage(7, LogLevel.Error, "could not equip domain {Domain}: {Reason}")]
        public static partial void EquipFailed(ILogger logger, string domain, string reason);

        [LoggerMessage(10, LogLevel.Error, "libvirt callbacks on {Uri} failed {Count} time(s) so far (events may be missing until the next reconcile)")]
        public static partial void CallbackFailures(ILogger logger, string uri, long count);

        [LoggerMessage(9, LogLevel.Information, "created agent socket directory {Directory} (mode 0700)")]
        public static partial void CreatedSocketDirectory(ILogger logger, string directory);

        [LoggerMessage(8, LogLevel.Information, "reconciled after connection #{Number}: {Domains} domains, {Equipped} equipped, {Failures} failures")]
        public static partial void Reconciled(ILogger logger, long number, int domains, int equipped, int failures);
    }
}
