using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.SharedMemory;
using OverlayKvm.Core.Store;

namespace OverlayKvm.HostDaemon.Engine;

/// <summary>
/// The engine's registry on this host and the handlers of the engine "hypercalls" (R0.11, R0.12): register,
/// deregister, query, heartbeat. The host-channel layer calls these as plain methods with the domain it knows
/// from the channel the request arrived on (one channel per domain), never a domain named in the message.
/// The registry is authoritative; each group's region carries a published mirror (slot table, control words)
/// that the maintenance service verifies and repairs. Control plane only: agents cache query answers and
/// invalidate them when <see cref="DirectoryChanged"/> fires (pushed over the channel) or the region's directory
/// version moves.
/// </summary>
public sealed partial class EngineRegistry
{
    private readonly IOverlayStore _store;
    private readonly EngineRegionOwner _regions;
    private readonly EngineCounters _counters;
    private readonly TimeProvider _time;
    private readonly EngineOptions _options;
    private readonly ILogger<EngineRegistry> _logger;
    private readonly Dictionary<string, GroupEngineState> _groups = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public EngineRegistry(IOverlayStore store, EngineRegionOwner regions, EngineCounters counters, TimeProvider time,
        IOptions<EngineOptions> options, ILogger<EngineRegistry> logger)
    {
        _store = store;
        _regions = regions;
        _counters = counters;
        _time = time;
        _options = options.Value;
        _logger = logger;
    }

    /// <summary>Raised (outside the lock) with (group, directory version) after every registration change or switch.</summary>
    public event Action<string, ulong>? DirectoryChanged;

    /// <summary>register(address) from <paramref name="domain"/>: the address must belong to one of that domain's applications.</summary>
    /// <param name="superPackets">The registering agent takes GSO super-packets off the ring (told to its peers in query answers).</param>
    public RegisterResult Register(string domain, IPAddress address, bool superPackets = false)
    {
        address = Normalize(address);
        Application? app = FindApplication(address);
        if (app is null)
        {
            return Refuse(RegisterStatus.UnknownAddress, $"register from domain '{domain}': no application has address {address}");
        }

        if (app.Domain != domain)
        {
            return Refuse(RegisterStatus.NotOwnedByDomain,
                $"register from domain '{domain}': address {address} belongs to application {app.Group}/{app.Name} of domain '{app.Domain}'");
        }

        RegisterResult result;
        ulong version;
        lock (_lock)
        {
            GroupEngineState state = StateLocked(app.Group);
            int slot = state.SlotOf(domain);
            if (slot >= 0 && state.Slots[slot]!.Addresses.Contains(address))
            {
                state.Slots[slot]!.LastHeartbeat = _time.GetUtcNow();
                state.Slots[slot]!.SuperPackets = superPackets;
                PublishSlotLocked(state, slot);
                return Succeeded(RegisterStatus.AlreadyRegistered, state, slot);
            }

            if (slot < 0)
            {
                slot = Array.IndexOf(state.Slots, null);
                if (slot < 0)
                {
                    return Refuse(RegisterStatus.NoFreeSlot,
                        $"register from domain '{domain}': all {state.Slots.Length} slots of group '{app.Group}' are taken on this host");
                }

                state.Slots[slot] = new SlotState(domain, _time.GetUtcNow());
                ResetRingsOfSlotLocked(state, slot);
            }

            SlotState held = state.Slots[slot]!;
            held.SuperPackets = superPackets;
            if (held.Addresses.Count >= SlotEntry.MaxAddresses)
            {
                return Refuse(RegisterStatus.TooManyAddresses,
                    $"register from domain '{domain}': already {held.Addresses.Count} addresses in group '{app.Group}' (maximum {SlotEntry.MaxAddresses})");
            }

            held.Addresses.Add(address);
            held.LastHeartbeat = _time.GetUtcNow();
            PublishSlotLocked(state, slot);
            version = BumpLocked(state);
            result = Succeeded(RegisterStatus.Registered, state, slot);
        }

        _counters.Registered();
        Log.Registered(_logger, domain, address, result.Group!, result.Slot);
        DirectoryChanged?.Invoke(result.Group!, version);
        return result;
    }

    /// <summary>deregister(address) from <paramref name="domain"/>; the slot is freed with its last address.</summary>
    public DeregisterStatus Deregister(string domain, IPAddress address)
    {
        address = Normalize(address);
        string group;
        ulong version;
        lock (_lock)
        {
            GroupEngineState? state = null;
            int slot = -1;
            foreach (GroupEngineState candidate in _groups.Values)
            {
                slot = candidate.SlotOf(domain);
                if (slot >= 0 && candidate.Slots[slot]!.Addresses.Contains(address))
                {
                    state = candidate;
                    break;
                }
            }

            if (state is null)
            {
                return DeregisterStatus.NotRegistered;
            }

            SlotState held = state.Slots[slot]!;
            held.Addresses.Remove(address);
            if (held.Addresses.Count == 0)
            {
                state.Slots[slot] = null;
            }

            PublishSlotLocked(state, slot);
            version = BumpLocked(state);
            group = state.Group;
        }

        _counters.Deregistered();
        Log.Deregistered(_logger, domain, address, group);
        DirectoryChanged?.Invoke(group, version);
        return DeregisterStatus.Deregistered;
    }

    /// <summary>query(address) from <paramref name="askingDomain"/>: accessible only between members of one group on this host.</summary>
    public QueryResult Query(string askingDomain, IPAddress address)
    {
        address = Normalize(address);
        QueryResult result = QueryCore(askingDomain, address);
        _counters.Queried(result.Outcome);
        return result;
    }

    /// <summary>heartbeat() from <paramref name="domain"/>: keeps all its slots alive.</summary>
    public HeartbeatStatus Heartbeat(string domain)
    {
        bool known = false;
        lock (_lock)
        {
            DateTimeOffset now = _time.GetUtcNow();
            foreach (GroupEngineState state in _groups.Values)
            {
                int slot = state.SlotOf(domain);
                if (slot >= 0)
                {
                    state.Slots[slot]!.LastHeartbeat = now;
                    PublishSlotLocked(state, slot);
                    known = true;
                }
            }
        }

        if (known)
        {
            _counters.Heartbeat();
        }

        return known ? HeartbeatStatus.Accepted : HeartbeatStatus.UnknownDomain;
    }

    /// <summary>Removes every registration of a domain (it stopped: the libvirt <c>stopped</c>/<c>release</c> event).</summary>
    public int RemoveDomain(string domain)
    {
        var changed = new List<(string Group, ulong Version)>();
        lock (_lock)
        {
            foreach (GroupEngineState state in _groups.Values)
            {
                int slot = state.SlotOf(domain);
                if (slot >= 0)
                {
                    state.Slots[slot] = null;
                    PublishSlotLocked(state, slot);
                    changed.Add((state.Group, BumpLocked(state)));
                }
            }
        }

        foreach ((string group, ulong version) in changed)
        {
            DirectoryChanged?.Invoke(group, version);
        }

        return changed.Count;
    }

    /// <summary><c>overlayctl engine-disable|engine-enable GROUP</c>: senders of the group use the sealed network path while off.</summary>
    public EngineSwitchStatus SetEnabled(string group, bool enabled)
    {
        if (_store.GetGroup(group) is null)
        {
            return EngineSwitchStatus.UnknownGroup;
        }

        // The operator's decision is kept in the store first (issue 14 item 9): it survives a reboot (a fresh
        // region) and a guest rewriting the region's control word while overlayd is down.
        PersistSwitch(group, enabled);
        ulong version;
        lock (_lock)
        {
            GroupEngineState state = StateLocked(group);
            if (state.Enabled == enabled)
            {
                return EngineSwitchStatus.Unchanged;
            }

            state.Enabled = enabled;
            state.Region.Control.SetEngineEnabled(enabled);
            version = BumpLocked(state);
        }

        Log.Switched(_logger, group, enabled);
        DirectoryChanged?.Invoke(group, version);
        return EngineSwitchStatus.Changed;
    }

    public bool IsEnabled(string group)
    {
        lock (_lock)
        {
            return !_groups.TryGetValue(group, out GroupEngineState? state) || state.Enabled;
        }
    }

    /// <summary>
    /// At daemon start: take over every group region left on disk by the previous daemon (rebuilding its
    /// registrations from the region's mirror), so running traffic keeps its slots. Returns the groups adopted.
    /// </summary>
    public IReadOnlyList<string> AdoptExistingRegions()
    {
        var adopted = new List<string>();
        foreach (ApplicationGroup group in _store.ListGroups())
        {
            if (!File.Exists(_regions.RegionPath(group.Name)))
            {
                continue;
            }

            lock (_lock)
            {
                StateLocked(group.Name);
            }

            adopted.Add(group.Name);
        }

        return adopted;
    }

    /// <summary>The regions <paramref name="domain"/> may attach: one per group it has applications in, never another group's.</summary>
    public IReadOnlyList<EngineRegionGrant> GrantsFor(string domain) => PrepareRegionsFor([domain]);

    /// <summary>
    /// Creates (or adopts) the region of every group that has an application in one of <paramref name="domains"/>
    /// and returns them, one per group. Called for the domains placed on this host before their VMs start: QEMU
    /// then maps the file overlayd laid out (exact size, owned by the qemu user, 0600) instead of creating a
    /// blank one of its own that the daemon would have to take over under a running guest.
    /// </summary>
    public IReadOnlyList<EngineRegionGrant> PrepareRegionsFor(IReadOnlyCollection<string> domains)
    {
        var groups = new SortedSet<string>(StringComparer.Ordinal);
        foreach (Application app in _store.ListApplications())
        {
            if (domains.Contains(app.Domain))
            {
                groups.Add(app.Group);
            }
        }

        var grants = new List<EngineRegionGrant>(groups.Count);
        foreach (string group in groups)
        {
            grants.Add(PrepareRegion(group));
        }

        return grants;
    }

    /// <summary>Creates (or adopts) one group's region now; the qemu hook calls it at <c>prepare</c>, before QEMU maps it.</summary>
    public EngineRegionGrant PrepareRegion(string group)
    {
        lock (_lock)
        {
            StateLocked(group);
        }

        return new EngineRegionGrant(group, _regions.RegionName(group), _regions.RegionPath(group), _regions.RegionSizeBytes);
    }

    private QueryResult QueryCore(string askingDomain, IPAddress address)
    {
        lock (_lock)
        {
            foreach (GroupEngineState state in _groups.Values)
            {
                int target = state.SlotHolding(address);
                if (target < 0)
                {
                    continue;
                }

                int asker = state.SlotOf(askingDomain);
                if (asker < 0)
                {
                    // Do not reveal the group to a non-member.
                    return QueryResult.Denied(QueryOutcome.NotGroupMember);
                }

                if (!state.Enabled)
                {
                    return QueryResult.Denied(QueryOutcome.EngineDisabled, state.Group, state.DirectoryVersion);
                }

                if (asker == target)
                {
                    return QueryResult.Denied(QueryOutcome.SameDomain, state.Group, state.DirectoryVersion);
                }

                if (IsExpired(state.Slots[target]!))
                {
                    return QueryResult.Denied(QueryOutcome.HeartbeatExpired, state.Group, state.DirectoryVersion);
                }

                return new QueryResult(QueryOutcome.Accessible, state.Group, target, asker, _regions.RegionName(state.Group),
                    state.Region.Generation, state.DirectoryVersion, state.Slots[target]!.SuperPackets);
            }
        }

        return QueryResult.Denied(QueryOutcome.NotRegistered);
    }

    private bool IsExpired(SlotState slot) => _time.GetUtcNow() - slot.LastHeartbeat > _options.HeartbeatExpiry;

    private GroupEngineState StateLocked(string group)
    {
        if (!_groups.TryGetValue(group, out GroupEngineState? state))
        {
            state = new GroupEngineState(group, _regions.Ensure(group));
            AdoptPublishedStateLocked(state);
            _groups.Add(group, state);
        }

        return state;
    }

    /// <summary>
    /// After a daemon restart the region still carries the previous registry's mirror, and agents keep using the
    /// slots it assigned (fail-static). Rebuild from it so slots do not move under running traffic, trusting an
    /// entry only as far as the store confirms it (the address belongs to an application of that domain in this
    /// group); everything else is dropped. A fresh region has only free slots, so this is a no-op for it.
    /// </summary>
    private void AdoptPublishedStateLocked(GroupEngineState state)
    {
        DateTimeOffset now = _time.GetUtcNow();
        IReadOnlyList<Application> apps = _store.ListApplications(state.Group);
        for (int slot = 0; slot < state.Slots.Length; slot++)
        {
            if (state.Region.Slots.TryRead(slot, out SlotEntry? entry) == SlotReadStatus.Valid)
            {
                var adopted = new SlotState(entry!.Domain, now);
                foreach (IPAddress address in entry.Addresses)
                {
                    if (!adopted.Addresses.Contains(address) && state.SlotHolding(address) < 0 && IsApplicationOf(apps, entry.Domain, address))
                    {
                        adopted.Addresses.Add(address);
                    }
                }

                if (adopted.Addresses.Count > 0 && state.SlotOf(adopted.Domain) < 0)
                {
                    state.Slots[slot] = adopted;
                }
            }

            PublishSlotLocked(state, slot);
        }

        // The switch comes from the store, never from the region (guest-writable, and blank after a reboot); move the
        // version forward so no agent's cached answer can match a version of the new registry by accident.
        state.Enabled = !IsDisabledInStore(state.Group);
        state.Region.Control.SetEngineEnabled(state.Enabled);
        state.DirectoryVersion = state.Region.Control.DirectoryVersion + 1;
        state.Region.Control.SetDirectoryVersion(state.DirectoryVersion);
    }

    private void PersistSwitch(string group, bool enabled) => _store.SetEngineDisabled(group, !enabled);

    private bool IsDisabledInStore(string group)
    {
        foreach (string disabled in _store.ListEngineDisabledGroups())
        {
            if (disabled == group)
            {
                return true;
            }
        }
        return false;
    }

    private static bool IsApplicationOf(IReadOnlyList<Application> apps, string domain, IPAddress address)
    {
        foreach (Application app in apps)
        {
            if (app.Domain == domain && Normalize(app.Address).Equals(address))
            {
                return true;
            }
        }

        return false;
    }

    private void PublishSlotLocked(GroupEngineState state, int slot) => state.Region.Slots.Write(slot, state.Slots[slot]?.ToEntry());

    private static void ResetRingsOfSlotLocked(GroupEngineState state, int slot)
    {
        for (int other = 0; other < state.Slots.Length; other++)
        {
            if (other != slot)
            {
                state.Region.ResetRing(slot, other);
                state.Region.ResetRing(other, slot);
            }
        }
    }

    private static ulong BumpLocked(GroupEngineState state)
    {
        state.DirectoryVersion++;
        state.Region.Control.SetDirectoryVersion(state.DirectoryVersion);
        return state.DirectoryVersion;
    }

    private RegisterResult Succeeded(RegisterStatus status, GroupEngineState state, int slot) =>
        new(status, state.Group, slot, _regions.RegionName(state.Group), state.Region.Generation, null);

    private RegisterResult Refuse(RegisterStatus status, string error)
    {
        _counters.RegistrationRefused();
        Log.RegistrationRefused(_logger, error);
        return RegisterResult.Refused(status, error);
    }

    private Application? FindApplication(IPAddress address)
    {
        foreach (Application app in _store.ListApplications())
        {
            if (Normalize(app.Address).Equals(address))
            {
                return app;
            }
        }

        return null;
    }

    private static IPAddress Normalize(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Information, Message = "engine: domain {Domain} registered {Address} in group {Group}, slot {Slot}")]
        public static partial void Registered(ILogger logger, string domain, IPAddress address, string group, int slot);

        [LoggerMessage(Level = LogLevel.Information, Message = "engine: domain {Domain} deregistered {Address} in group {Group}")]
        public static partial void Deregistered(ILogger logger, string domain, IPAddress address, string group);

        [LoggerMessage(Level = LogLevel.Warning, Message = "engine: {Error}")]
        public static partial void RegistrationRefused(ILogger logger, string error);

        [LoggerMessage(Level = LogLevel.Information, Message = "engine of group {Group}: enabled={Enabled}")]
        public static partial void Switched(ILogger logger, string group, bool enabled);

        [LoggerMessage(Level = LogLevel.Information, Message = "engine of group {Group}: group undefined, region removed")]
        public static partial void RegionRemoved(ILogger logger, string group);
    }
}
