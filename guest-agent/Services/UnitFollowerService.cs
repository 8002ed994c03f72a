using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OverlayKvm.GuestAgent.Config;
using OverlayKvm.GuestAgent.Hosting;
using OverlayKvm.GuestAgent.State;
using OverlayKvm.GuestAgent.Tun;

namespace OverlayKvm.GuestAgent.Services;

/// <summary>
/// Services as apps: follows the systemd units declared in apps.d over D-Bus and counts each unit's app in while
/// the unit is activating, active or reloading, and out when it is inactive or failed (deactivating keeps it: the
/// service may still be using its address while it stops). The count goes through the same
/// <see cref="AdapterManager"/> count-in/count-out as `overlay-agent run`. No polling: systemd's PropertiesChanged
/// on the unit and JobRemoved make it read the unit's state again; a new configuration from the host makes it
/// retry apps whose count-in failed (e.g. a unit started before the first document arrived).
/// Without a bus (or systemd on it) the agent says so once, counts out unit-held apps it can no longer follow, and
/// keeps serving apps registered through `overlay-agent run`.
/// </summary>
internal sealed partial class UnitFollowerService : BackgroundService
{
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(10);
    private readonly AgentOptions _options;
    private readonly AdapterManager _adapters;
    private readonly AgentState _state;
    private readonly ILogger<UnitFollowerService> _logger;
    /// <summary>Units to look at again; null means all. Unbounded but tiny: a few entries per unit state change.</summary>
    private readonly Channel<string?> _dirty = System.Threading.Channels.Channel.CreateUnbounded<string?>(new UnboundedChannelOptions { SingleReader = true });

    public UnitFollowerService(IOptions<AgentOptions> options, AdapterManager adapters, AgentState state, ILogger<UnitFollowerService> logger)
    {
        _options = options.Value;
        _adapters = adapters;
        _state = state;
        _logger = logger;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        AppsDirectoryContent declared = AppsDirectory.Read(_options.AppsDirectory);
        foreach (string error in declared.Errors)
        {
            Log.BadDeclaration(_logger, error);
        }
        try
        {
            ForgetUndeclaredUnits(declared.Apps);
        }
        catch (Exception ex) when (ex is ArgumentException or IOException or UnauthorizedAccessException or IpCommandException)
        {
            Log.CountFailed(_logger, "(restored)", "undeclared", "(restored)", ex.Message);
        }
        if (declared.Apps.Count == 0)
        {
            return;
        }
        SystemdUnitBus bus;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            timeout.CancelAfter(ConnectTimeout);
            bus = await SystemdUnitBus.ConnectAsync(_options.SystemBusAddress, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            return;
        }
        catch (Exception ex)
        {
            // Any failure here (no socket, refused, no systemd on the bus, timeout) means the same: units cannot be followed.
            Unavailable(ex.Message);
            return;
        }
        using (bus)
        {
            try
            {
                await FollowAsync(bus, declared.Apps, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Unavailable(ex.Message);
            }
        }
    }

    private async Task FollowAsync(SystemdUnitBus bus, IReadOnlyList<ServiceApp> apps, CancellationToken stoppingToken)
    {
        var followed = new Dictionary<string, (ServiceApp App, string Path)>(StringComparer.Ordinal);
        // Read by the bus's dispatch thread while `followed` is still being filled: an immutable set of its own.
        var declaredUnits = new HashSet<string>(apps.Select(a => a.Unit), StringComparer.Ordinal);
        var watches = new List<IDisposable>();
        Action<AgentSnapshot> onConfig = _ => _dirty.Writer.TryWrite(null);
        try
        {
            // Watch first, then read: a change between the two is then seen at least once.
            watches.Add(await bus.WatchJobRemovedAsync(unit =>
            {
                if (declaredUnits.Contains(unit))
                {
                    _dirty.Writer.TryWrite(unit);
                }
            }).ConfigureAwait(false));
            foreach (ServiceApp app in apps)
            {
                string path = await bus.LoadUnitAsync(app.Unit).ConfigureAwait(false);
                string unit = app.Unit;
                watches.Add(await bus.WatchUnitAsync(path, () => _dirty.Writer.TryWrite(unit)).ConfigureAwait(false));
                followed[unit] = (app, path);
            }
            _state.Changed += onConfig;
            Log.Following(_logger, followed.Count, string.Join(", ", followed.Keys));
            _dirty.Writer.TryWrite(null);
            Task<Exception?> disconnected = bus.DisconnectedAsync();
            var pending = new HashSet<string>(StringComparer.Ordinal);
            while (true)
            {
                Task<bool> ready = _dirty.Reader.WaitToReadAsync(stoppingToken).AsTask();
                if (await Task.WhenAny(ready, disconnected).ConfigureAwait(false) == disconnected)
                {
                    Exception? why = await disconnected.ConfigureAwait(false);
                    Unavailable($"the bus connection ended ({why?.Message ?? "closed"})");
                    return;
                }
                if (!await ready.ConfigureAwait(false))
                {
                    return;
                }
                pending.Clear();
                while (_dirty.Reader.TryRead(out string? unit))
                {
                    if (unit is null)
                    {
                        pending.UnionWith(followed.Keys);
                    }
                    else
                    {
                        pending.Add(unit);
                    }
                }
                foreach (string unit in pending)
                {
                    var (app, path) = followed[unit];
                    await SyncAsync(bus, app, path).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            _state.Changed -= onConfig;
            foreach (IDisposable w in watches)
            {
                w.Dispose();
            }
        }
    }

    private async Task SyncAsync(SystemdUnitBus bus, ServiceApp app, string path)
    {
        string state;
        try
        {
            state = await bus.GetActiveStateAsync(path).ConfigureAwait(false);
        }
        catch (Tmds.DBus.Protocol.DBusErrorReplyException ex)
        {
            // systemd refused this one read (e.g. the unit file went away): this unit waits for its next change, the others carry on.
            Log.CountFailed(_logger, app.Unit, "unknown", app.App, $"{ex.ErrorName}: {ex.ErrorMessage}");
            return;
        }
        bool counted = _adapters.IsUnitCounted(app.App, app.Group, app.Unit);
        try
        {
            if (state is "activating" or "active" or "reloading" && !counted)
            {
                var (appCount, adapterCount, device) = _adapters.RegisterUnit(app.App, app.Group, app.Unit);
                Log.CountedIn(_logger, app.Unit, state, app.App, device, appCount, adapterCount);
            }
            else if (state is "inactive" or "failed" && counted)
            {
                var (appCount, adapterCount) = _adapters.UnregisterUnit(app.App, app.Group, app.Unit);
                Log.CountedOut(_logger, app.Unit, state, app.App, appCount, adapterCount);
            }
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or IOException or UnauthorizedAccessException or IpCommandException)
        {
            // Retried at the next change of the unit or of the configuration.
            Log.CountFailed(_logger, app.Unit, state, app.App, ex.Message);
        }
    }

    /// <summary>Unit registrations restored from the state file whose unit is no longer declared: nobody will ever count them out.</summary>
    private void ForgetUndeclaredUnits(IReadOnlyList<ServiceApp> apps)
    {
        foreach (Registration r in _adapters.UnitRegistrations())
        {
            bool declared = false;
            foreach (ServiceApp a in apps)
            {
                declared |= a.Unit == r.Unit && a.App == r.App;
            }
            if (!declared)
            {
                _adapters.UnregisterUnit(r.App, r.Group, r.Unit!);
                Log.Undeclared(_logger, r.Unit!, r.App);
            }
        }
    }

    private void Unavailable(string reason)
    {
        Log.BusUnavailable(_logger, SystemdUnitBus.ResolveAddress(_options.SystemBusAddress) ?? "(none)", reason);
        int dropped = _adapters.DropUnitRegistrations();
        if (dropped > 0)
        {
            Log.UnitsDropped(_logger, dropped);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(60, LogLevel.Warning, "apps.d: {Error}")]
        public static partial void BadDeclaration(ILogger logger, string error);

        [LoggerMessage(61, LogLevel.Warning, "systemd units cannot be followed: D-Bus at {Address} unavailable ({Reason}); apps declared in apps.d are not counted, apps started with `overlay-agent run` keep working")]
        public static partial void BusUnavailable(ILogger logger, string address, string reason);

        [LoggerMessage(62, LogLevel.Information, "following {Count} systemd unit(s): {Units}")]
        public static partial void Following(ILogger logger, int count, string units);

        [LoggerMessage(63, LogLevel.Information, "unit {Unit} {State}: app {App} counted in on {Device} (app count {AppCount}, adapter count {AdapterCount})")]
        public static partial void CountedIn(ILogger logger, string unit, string state, string app, string device, int appCount, int adapterCount);

        [LoggerMessage(64, LogLevel.Information, "unit {Unit} {State}: app {App} counted out (app count {AppCount}, adapter count {AdapterCount})")]
        public static partial void CountedOut(ILogger logger, string unit, string state, string app, int appCount, int adapterCount);

        [LoggerMessage(65, LogLevel.Warning, "unit {Unit} {State}: counting app {App} failed, retried at the next change: {Reason}")]
        public static partial void CountFailed(ILogger logger, string unit, string state, string app, string reason);

        [LoggerMessage(66, LogLevel.Information, "unit {Unit} is no longer declared in apps.d: app {App} counted out")]
        public static partial void Undeclared(ILogger logger, string unit, string app);

        [LoggerMessage(67, LogLevel.Warning, "{Count} unit-held registration(s) counted out: their units cannot be followed")]
        public static partial void UnitsDropped(ILogger logger, int count);
    }
}
