using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OverlayKvm.Core.Config;
using OverlayKvm.Core.Crypto;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.Wire;
using OverlayKvm.GuestAgent.Config;
using OverlayKvm.GuestAgent.Hosting;
using OverlayKvm.GuestAgent.Pipeline;
using OverlayKvm.GuestAgent.State;
using OverlayKvm.GuestAgent.Transport;

namespace OverlayKvm.GuestAgent.Tun;

/// <summary>
/// Counted launch/teardown (R0.8, claims 10/11/19/20): the counting, not the kernel programming
/// (<see cref="ApplicationRouting"/> writes an application entity's rule, address and routes). Every running app process is a <see cref="Registration"/>;
/// a group's adapter exists while at least one registration of the group does (0→1 creates the TUN device,
/// 1→0 removes it), and an app's address, source rule and routes exist while at least one process of that app
/// does. State is persisted after every change so a restarted agent reconciles with the processes still alive.
/// All methods take one lock: this is control traffic, a few calls per app start or stop.
/// </summary>
internal sealed partial class AdapterManager : IDisposable
{
    private readonly Lock _lock = new();
    private readonly AgentState _state;
    private readonly AdapterTable _table;
    private readonly SendPath _send;
    private readonly DatapathCounters _counters;
    private readonly ApplicationRouting _routing;
    private readonly AgentStateFile _file;
    private readonly AgentOptions _options;
    private readonly ILogger<AdapterManager> _logger;
    private readonly UdpTransport? _udp;
    private readonly Dictionary<string, GroupAdapter> _adapters = new(StringComparer.Ordinal);
    private readonly List<Registration> _registrations = new();
    private readonly Dictionary<(string Group, string App), ApplicationEntity> _bindings = new();
    /// <summary>What this process last applied per app (address, table, routes): skips no-op re-applies. Not persisted, so a restarted agent re-applies once.</summary>
    private readonly Dictionary<(string Group, string App), string> _applied = new();

    public AdapterManager(AgentState state, AdapterTable table, SendPath send, DatapathCounters counters, IpCommand ip,
        IOptions<AgentOptions> options, ILogger<AdapterManager> logger, UdpTransport? udp = null)
    {
        _udp = udp;
        _state = state;
        _table = table;
        _send = send;
        _counters = counters;
        _routing = new ApplicationRouting(ip);
        _options = options.Value;
        _file = new AgentStateFile(_options.StateDirectory);
        _logger = logger;
    }

    /// <summary>Raised after an app's count went 0→1 (true) or 1→0 (false); the host channel reports it.</summary>
    public event Action<ApplicationEntity, bool>? AppChanged;

    /// <summary>
    /// Adapter MTU: the underlay MTU minus outer IPv4 (20), UDP (8) and the group's sealed-frame overhead (48 for
    /// ChaCha20-Poly1305, 64 for AEGIS-256's 32-byte tag: issue 16), so the kernel's TCP MSS and the super-packets'
    /// segment size leave room for the group's tag and no sealed frame exceeds the underlay MTU.
    /// </summary>
    public int AdapterMtu(GroupCipher cipher) => _options.UnderlayMtu - 20 - 8 - SealedFrameHeader.OverheadOf(cipher);

    public static string DeviceName(string group) => "ovk" + OverlayIds.GroupId(group).ToString("x8");

    /// <summary>Counts process pid as a running instance of app. Returns the app's and the adapter's counts.</summary>
    public (int AppCount, int AdapterCount, string Device) Register(string app, string? group, int pid) =>
        CountIn(app, group, g => new Registration(g, app, pid,
            ProcessInfo.StartTime(pid) ?? throw new ArgumentException($"register {g}/{app}: process {pid} is not running")));

    /// <summary>Uncounts process pid of app; removes what is no longer used. Returns the remaining counts.</summary>
    public (int AppCount, int AdapterCount) Unregister(string app, string? group, int pid) =>
        CountOut(app, group, r => r.Pid == pid && r.Unit is null, $"process {pid}");

    /// <summary>
    /// The one count-in path of every kind of holder (an app process, a systemd unit): adds the holder's
    /// registration and, on the app's 0→1, its adapter, address, rule and routes. Returns the counts.
    /// </summary>
    private (int AppCount, int AdapterCount, string Device) CountIn(string app, string? group, Func<string, Registration> holder)
    {
        lock (_lock)
        {
            AgentSnapshot snapshot = _state.Current
                ?? throw new InvalidOperationException($"register {app}: no configuration document received from the host yet");
            LocalAppConfig config = FindApp(snapshot.Document, app, group);
            Registration registration = holder(config.Group);
            if (!_registrations.Contains(registration))
            {
                _registrations.Add(registration);
            }
            try
            {
                EnsureAppLocked(config, snapshot);
            }
            catch
            {
                _registrations.Remove(registration);
                ReleaseUnusedLocked();
                SaveLocked();
                throw;
            }
            SaveLocked();
            return (CountApp(config.Group, app), CountGroup(config.Group), DeviceName(config.Group));
        }
    }

    /// <summary>The one count-out path: removes the holder's registrations of app; on the app's 1→0 its address, rule and routes go.</summary>
    private (int AppCount, int AdapterCount) CountOut(string app, string? group, Predicate<Registration> holder, string holderName)
    {
        lock (_lock)
        {
            int removed = _registrations.RemoveAll(r => r.App == app && (group is null || r.Group == group) && holder(r));
            if (removed == 0)
            {
                throw new ArgumentException($"unregister {app}: {holderName} is not registered for it");
            }
            string g = group ?? FindGroupOfBinding(app);
            ReleaseUnusedLocked();
            SaveLocked();
            return (CountApp(g, app), CountGroup(g));
        }
    }

    /// <summary>Drops registrations whose process has exited (called periodically). Returns how many.</summary>
    public int ReapExited()
    {
        lock (_lock)
        {
            // A unit's registration has no process of its own: the unit follower counts it out.
            int removed = _registrations.RemoveAll(r => r.Unit is null && !ProcessInfo.IsAlive(r.Pid, r.PidStartTime));
            if (removed > 0)
            {
                ReleaseUnusedLocked();
                SaveLocked();
            }
            return removed;
        }
    }

    /// <summary>
    /// After an agent restart: keeps registrations whose process still runs, re-attaches their persistent adapters
    /// (addresses and routes survived in the kernel), and removes everything of apps that ended meanwhile.
    /// </summary>
    public void Reconcile()
    {
        lock (_lock)
        {
            AgentStateData saved = _file.Load();
            foreach (var r in saved.Registrations)
            {
                // Units are kept until the unit follower has read their state again (it counts out the stopped ones).
                if (r.Unit is not null || ProcessInfo.IsAlive(r.Pid, r.PidStartTime))
                {
                    _registrations.Add(r);
                }
            }
            foreach (var b in saved.Bindings)
            {
                _bindings[(b.Group, b.App)] = b;
            }
            foreach (var b in saved.Bindings)
            {
                if (CountGroup(b.Group) > 0 && !_adapters.ContainsKey(b.Group) && TunDevice.Exists(b.Device))
                {
                    AttachAdapterLocked(b.Group);
                }
            }
            ReleaseUnusedLocked();
            SaveLocked();
            Log.Reconciled(_logger, _registrations.Count, _adapters.Count);
        }
    }

    /// <summary>A new configuration: re-applies every live app (address, rule, routes may have changed) and drops apps no longer configured.</summary>
    public void OnConfigChanged(AgentSnapshot snapshot)
    {
        lock (_lock)
        {
            var live = new HashSet<(string, string)>();
            foreach (var r in _registrations)
            {
                live.Add((r.Group, r.App));
            }
            foreach (var (group, app) in live)
            {
                LocalAppConfig? config = null;
                foreach (var a in snapshot.Document.Apps)
                {
                    if (a.Group == group && a.Name == app)
                    {
                        config = a;
                    }
                }
                if (config is null)
                {
                    Log.AppDeconfigured(_logger, group, app);
                    _registrations.RemoveAll(r => r.Group == group && r.App == app);
                    continue;
                }
                try
                {
                    EnsureAppLocked(config, snapshot);
                }
                catch (Exception ex) when (ex is IpCommandException or IOException or UnauthorizedAccessException)
                {
                    Log.ApplyFailed(_logger, group, app, ex);
                }
            }
            ReleaseUnusedLocked();
            SaveLocked();
        }
    }

    public IReadOnlyList<Control.AdapterStat> Describe()
    {
        lock (_lock)
        {
            var list = new List<Control.AdapterStat>();
            foreach (var (group, adapter) in _adapters)
            {
                var apps = new SortedSet<string>(StringComparer.Ordinal);
                foreach (var r in _registrations)
                {
                    if (r.Group == group)
                    {
                        apps.Add(r.App);
                    }
                }
                list.Add(new Control.AdapterStat(adapter.DeviceName, group, CountGroup(group), apps.ToArray()));
            }
            return list;
        }
    }

    /// <summary>Agent shutdown: stop the workers but leave the persistent devices (and so the apps' addresses) in place.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            foreach (var adapter in _adapters.Values)
            {
                adapter.Dispose();
            }
            _adapters.Clear();
        }
    }

    private void EnsureAppLocked(LocalAppConfig config, AgentSnapshot snapshot)
    {
        if (!snapshot.GroupsByName.TryGetValue(config.Group, out GroupRuntime? group))
        {
            throw new InvalidOperationException($"app {config.Group}/{config.Name}: its group is not in configuration version {snapshot.Version}");
        }
        if (!_adapters.TryGetValue(config.Group, out GroupAdapter? adapter))
        {
            adapter = AttachAdapterLocked(config.Group);
        }
        var desired = new ApplicationEntity(config.Group, config.Name, config.Address, config.RouteTable, adapter.DeviceName);
        bool isNew = !_bindings.TryGetValue((config.Group, config.Name), out ApplicationEntity? current);
        var groupConfig = FindGroupConfig(snapshot.Document, config.Group);
        string signature = AppliedSignature(config, groupConfig, adapter.DeviceName);
        if (current == desired && _applied.TryGetValue((config.Group, config.Name), out string? applied) && applied == signature)
        {
            // Unchanged by this configuration version: re-applying would flush the app's table for a moment.
            return;
        }
        if (current is not null && current != desired)
        {
            RemoveBindingLocked(current);
        }
        try
        {
            _routing.Apply(desired, config, groupConfig);
        }
        catch
        {
            // Issue 14 item 10: an `ip` command failed half way (a route, an address): undo the rule, the address and
            // the app's table this attempt wrote, so nothing of it stays in the kernel, and forget the binding so the
            // next configuration or registration applies it afresh.
            RemoveBindingLocked(desired);
            if (_bindings.Remove((config.Group, config.Name)))
            {
                _applied.Remove((config.Group, config.Name));
                AppChanged?.Invoke(desired, false);
            }
            throw;
        }
        _bindings[(config.Group, config.Name)] = desired;
        _applied[(config.Group, config.Name)] = signature;
        if (isNew)
        {
            Log.AppUp(_logger, config.Group, config.Name, config.Address, adapter.DeviceName, config.RouteTable);
            AppChanged?.Invoke(desired, true);
        }
    }

    private GroupAdapter AttachAdapterLocked(string group)
    {
        // The group's cipher from the configuration in force; a reattach at start before any configuration keeps the
        // default (a group's cipher never changes, and the next configuration re-attaches nothing, see docs/sealed-frame.md).
        GroupCipher cipher = _state.Current?.GroupsByName.TryGetValue(group, out GroupRuntime? known) == true ? known!.Cipher : GroupCipher.ChaCha20Poly1305;
        int mtu = AdapterMtu(cipher);
        string name = DeviceName(group);
        bool existed = TunDevice.Exists(name);
        TunDevice device = TunDevice.OpenOrCreate(name, persist: true, offloads: _options.TunOffloads);
        try
        {
            _routing.BringUp(name, mtu);
        }
        catch
        {
            if (!existed)
            {
                device.Destroy();
            }
            else
            {
                device.Dispose();
            }
            throw;
        }
        var adapter = new GroupAdapter(group, OverlayIds.GroupId(group), device, _send, _counters,
            _udp is null ? null : () => new BatchFrameSender(_udp, GroupAdapter.BurstSize, GroupAdapter.SlotSize, _counters));
        adapter.Start();
        _adapters.Add(group, adapter);
        _table.Set(adapter.GroupId, adapter);
        Log.AdapterUp(_logger, group, name, mtu, existed);
        return adapter;
    }

    /// <summary>Removes bindings of apps with no live process and adapters of groups with no live app.</summary>
    private void ReleaseUnusedLocked()
    {
        foreach (var binding in _bindings.Values.ToArray())
        {
            if (CountApp(binding.Group, binding.App) == 0)
            {
                RemoveBindingLocked(binding);
                _bindings.Remove((binding.Group, binding.App));
                _applied.Remove((binding.Group, binding.App));
                Log.AppDown(_logger, binding.Group, binding.App);
                AppChanged?.Invoke(binding, false);
            }
        }
        foreach (var (group, adapter) in _adapters.ToArray())
        {
            if (CountGroup(group) == 0)
            {
                _table.Remove(adapter.GroupId);
                adapter.Destroy();
                _adapters.Remove(group);
                Log.AdapterDown(_logger, group, adapter.DeviceName);
            }
        }
    }

    private void RemoveBindingLocked(ApplicationEntity binding)
    {
        bool tableShared = false;
        foreach (var other in _bindings.Values)
        {
            if (other != binding && other.RouteTable == binding.RouteTable && CountApp(other.Group, other.App) > 0)
            {
                tableShared = true;
            }
        }
        _routing.Remove(binding, tableShared);
        // A device left from before a restart with no app of its group alive: remove it too.
        if (CountGroup(binding.Group) == 0 && !_adapters.ContainsKey(binding.Group) && TunDevice.Exists(binding.Device))
        {
            try
            {
                TunDevice.OpenOrCreate(binding.Device, persist: false).Destroy();
            }
            catch (IOException ex)
            {
                Log.ApplyFailed(_logger, binding.Group, binding.App, ex);
            }
        }
    }

    private int CountApp(string group, string app)
    {
        int n = 0;
        foreach (var r in _registrations)
        {
            if (r.Group == group && r.App == app)
            {
                n++;
            }
        }
        return n;
    }

    private int CountGroup(string group)
    {
        int n = 0;
        foreach (var r in _registrations)
        {
            if (r.Group == group)
            {
                n++;
            }
        }
        return n;
    }

    private string FindGroupOfBinding(string app)
    {
        foreach (var b in _bindings.Values)
        {
            if (b.App == app)
            {
                return b.Group;
            }
        }
        return "";
    }

    private void SaveLocked() => _file.Save(new AgentStateData(_registrations.ToArray(), _bindings.Values.ToArray()));

    private static LocalAppConfig FindApp(DomainConfigDocument doc, string app, string? group)
    {
        LocalAppConfig? found = null;
        foreach (var a in doc.Apps)
        {
            if (a.Name == app && (group is null || a.Group == group))
            {
                if (found is not null)
                {
                    throw new ArgumentException($"app '{app}' exists in groups '{found.Group}' and '{a.Group}' on domain {doc.Domain}: pass --group");
                }
                found = a;
            }
        }
        return found ?? throw new ArgumentException($"app '{(group is null ? "" : group + "/")}{app}' is not configured for domain {doc.Domain} (configuration version {doc.Version})");
    }

    private static string AppliedSignature(LocalAppConfig app, GroupConfig group, string device)
    {
        var sb = new System.Text.StringBuilder();
        sb.Append(device).Append('|').Append(app.Address).Append('|').Append(app.RouteTable).Append('|').Append(group.AddressSpace);
        foreach (RouteEntry r in app.Routes)
        {
            sb.Append('|').Append(r.Destination).Append(',').Append(r.Gateway).Append(',').Append(r.Weight);
        }
        return sb.ToString();
    }

    private static GroupConfig FindGroupConfig(DomainConfigDocument doc, string group)
    {
        foreach (var g in doc.Groups)
        {
            if (g.Name == group)
            {
                return g;
            }
        }
        throw new InvalidOperationException($"group '{group}' is not in configuration version {doc.Version}");
    }

    private static partial class Log
    {
        [LoggerMessage(10, LogLevel.Information, "adapter {Device} for group {Group} up (mtu {Mtu}, reattached: {Reattached})")]
        public static partial void AdapterUp(ILogger logger, string group, string device, int mtu, bool reattached);

        [LoggerMessage(11, LogLevel.Information, "adapter {Device} for group {Group} removed (no app of the group runs)")]
        public static partial void AdapterDown(ILogger logger, string group, string device);

        [LoggerMessage(12, LogLevel.Information, "app {Group}/{App} up: address {Address} on {Device}, rule from it lookup table {Table}")]
        public static partial void AppUp(ILogger logger, string group, string app, string address, string device, int table);

        [LoggerMessage(13, LogLevel.Information, "app {Group}/{App} down: address, rule and routes removed")]
        public static partial void AppDown(ILogger logger, string group, string app);

        [LoggerMessage(14, LogLevel.Warning, "app {Group}/{App} is no longer in the configuration: its registrations are dropped")]
        public static partial void AppDeconfigured(ILogger logger, string group, string app);

        [LoggerMessage(15, LogLevel.Error, "applying configuration to app {Group}/{App} failed")]
        public static partial void ApplyFailed(ILogger logger, string group, string app, Exception ex);

        [LoggerMessage(16, LogLevel.Information, "reconciled after start: {Registrations} live registrations, {Adapters} adapters re-attached")]
        public static partial void Reconciled(ILogger logger, int registrations, int adapters);
    }
}
