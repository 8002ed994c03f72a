using OverlayKvm.Core.Api;
using System.Diagnostics.Metrics;

namespace OverlayKvm.HostDaemon.Engine;

/// <summary>Why a query did not answer "accessible" (also the <c>reason</c> of a query answer).</summary>
public enum QueryOutcome
{
    Accessible = 0,
    /// <summary>No VM on this host registered the address (or its group is not served here).</summary>
    NotRegistered,
    /// <summary>The asking VM holds no slot in the address's group: not a member of that group on this host.</summary>
    NotGroupMember,
    /// <summary>The address belongs to the asking VM itself: deliver locally.</summary>
    SameDomain,
    /// <summary>The operator switched the engine off for the group.</summary>
    EngineDisabled,
    /// <summary>The destination VM's heartbeat is older than the expiry.</summary>
    HeartbeatExpired,
}

/// <summary>Engine control-plane counters (process-wide), also exported as System.Diagnostics.Metrics instruments.</summary>
public sealed class EngineCounters : IDisposable
{
    private readonly long[] _queries = new long[Enum.GetValues<QueryOutcome>().Length];
    private readonly Meter _meter;
    private long _registrations;
    private long _registrationsRefused;
    private long _deregistrations;
    private long _heartbeats;
    private long _expirations;
    private long _headerRepairs;
    private long _slotRepairs;
    private long _controlRepairs;

    public EngineCounters()
    {
        _meter = new Meter("OverlayKvm.Engine");
        _meter.CreateObservableCounter("overlaykvm.engine.registrations", () => Registrations);
        _meter.CreateObservableCounter("overlaykvm.engine.registrations_refused", () => RegistrationsRefused);
        _meter.CreateObservableCounter("overlaykvm.engine.heartbeats", () => Heartbeats);
        _meter.CreateObservableCounter("overlaykvm.engine.expirations", () => Expirations);
        _meter.CreateObservableCounter("overlaykvm.engine.region_repairs", () => HeaderRepairs + SlotRepairs + ControlRepairs);
    }

    public long Registrations => Volatile.Read(ref _registrations);
    public long RegistrationsRefused => Volatile.Read(ref _registrationsRefused);
    public long Deregistrations => Volatile.Read(ref _deregistrations);
    public long Heartbeats => Volatile.Read(ref _heartbeats);
    public long Expirations => Volatile.Read(ref _expirations);
    public long HeaderRepairs => Volatile.Read(ref _headerRepairs);
    public long SlotRepairs => Volatile.Read(ref _slotRepairs);
    public long ControlRepairs => Volatile.Read(ref _controlRepairs);

    public long Queries(QueryOutcome outcome) => Volatile.Read(ref _queries[(int)outcome]);

    internal void Registered() => Interlocked.Increment(ref _registrations);
    internal void RegistrationRefused() => Interlocked.Increment(ref _registrationsRefused);
    internal void Deregistered() => Interlocked.Increment(ref _deregistrations);
    internal void Heartbeat() => Interlocked.Increment(ref _heartbeats);
    internal void Expired() => Interlocked.Increment(ref _expirations);
    internal void HeaderRepaired() => Interlocked.Increment(ref _headerRepairs);
    internal void SlotRepaired() => Interlocked.Increment(ref _slotRepairs);
    internal void ControlRepaired() => Interlocked.Increment(ref _controlRepairs);
    internal void Queried(QueryOutcome outcome) => Interlocked.Increment(ref _queries[(int)outcome]);

    public EngineCounterStat Snapshot()
    {
        var queries = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (QueryOutcome outcome in Enum.GetValues<QueryOutcome>())
        {
            queries[outcome.ToString()] = Queries(outcome);
        }

        return new EngineCounterStat(Registrations, RegistrationsRefused, Deregistrations, Heartbeats, Expirations,
            HeaderRepairs, SlotRepairs, ControlRepairs, queries);
    }

    public void Dispose() => _meter.Dispose();
}
