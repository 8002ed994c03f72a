using OverlayKvm.GuestAgent.Config;
using OverlayKvm.GuestAgent.Engine;
using OverlayKvm.GuestAgent.Pipeline;
using OverlayKvm.GuestAgent.Policy;
using OverlayKvm.GuestAgent.Tun;

namespace OverlayKvm.GuestAgent.Control;

/// <summary>Collects counters, adapters and the configuration version into a <see cref="StatReport"/> (R0.10).</summary>
internal sealed class StatBuilder
{
    private readonly DatapathCounters _counters;
    private readonly AgentState _state;
    private readonly AdapterManager _adapters;
    private readonly EngineDatapath? _engine;
    private readonly TransmissionManager _transmission;

    public StatBuilder(DatapathCounters counters, AgentState state, AdapterManager adapters, TransmissionManager transmission, EngineDatapath? engine = null)
    {
        _transmission = transmission;
        _engine = engine;
        _counters = counters;
        _state = state;
        _adapters = adapters;
    }

    public StatReport Build()
    {
        AgentSnapshot? snapshot = _state.Current;
        var groups = new List<GroupStat>();
        foreach (GroupCounters g in _counters.Groups())
        {
            long? epoch = null;
            if (snapshot is not null && snapshot.GroupsByName.TryGetValue(g.Group, out var runtime) && runtime.SendKey is not null)
            {
                epoch = runtime.SendKey.Epoch;
            }
            groups.Add(new GroupStat(g.Group, ToStat(g.Local), ToStat(g.Sealed), epoch, ToStat(g.Engine)) { Clear = ToStat(g.Clear) });
        }
        var drops = new SortedDictionary<string, long>(StringComparer.Ordinal);
        for (int i = 0; i < DropReasons.Count; i++)
        {
            drops[DropReasons.Name((DropReason)i)] = _counters.Drops((DropReason)i);
        }
        var transmission = new TransmissionStat(_transmission.Counters.ToDictionary(), _transmission.Egress.Count, _transmission.Ingress.Count,
            _transmission.PendingCount, snapshot?.Policy.PolicyCount ?? 0);
        var peers = new List<PeerStat>();
        foreach (PeerCounters p in _counters.Peers())
        {
            peers.Add(new PeerStat(p.Domain, ToStat(p.Engine), ToStat(p.Sealed)));
        }
        return new StatReport(snapshot?.Document.Domain, snapshot?.Version, groups, drops, _adapters.Describe(), BuildEngine(), transmission, snapshot?.Document.Digest)
        {
            Peers = peers,
        };
    }

    /// <summary>Both rule sets, egress first, each ordered by flow.</summary>
    public IReadOnlyList<RuleView> Rules()
    {
        long now = _transmission.NowMs;
        var views = new List<RuleView>();
        Add(views, "egress", _transmission.Egress, now);
        Add(views, "ingress", _transmission.Ingress, now);
        return views;
    }

    private static void Add(List<RuleView> views, string direction, RuleTable table, long now)
    {
        var rules = table.Snapshot();
        rules.Sort(static (a, b) => (a.Key.Source, a.Key.Destination, a.Key.Protocol, a.Key.Port).CompareTo((b.Key.Source, b.Key.Destination, b.Key.Protocol, b.Key.Port)));
        foreach (var (flow, rule) in rules)
        {
            views.Add(new RuleView(direction, FlowKey.Format(flow.Source), FlowKey.Format(flow.Destination), FlowKey.ProtocolName(flow.Protocol), flow.Port,
                rule.IsAllowed ? "allow" : "deny", rule.Origin.ToString().ToLowerInvariant(), Math.Max(0, rule.ExpiresAtMs - now), rule.PolicyId, rule.Reason));
        }
    }

    private EngineStat? BuildEngine()
    {
        if (_engine is null)
        {
            return null;
        }
        var attached = new List<EngineGroupAttachment>();
        foreach (EngineAttachment a in _engine.Attachments)
        {
            try
            {
                var bell = a.Endpoint.Doorbell;
                attached.Add(new EngineGroupAttachment(a.Group, a.RegionPath, a.MySlot, a.Generation, a.IsEnabled, a.Routes.Count,
                    new DoorbellStat(bell.FutexUsable, bell.Waits, bell.WokenWaits, bell.TimedOutWaits, bell.ChangedWaits, a.Endpoint.WakesSent)));
            }
            catch (ObjectDisposedException)
            {
                // Retired between listing and reading: it is no longer attached.
            }
        }
        attached.Sort((x, y) => string.CompareOrdinal(x.Group, y.Group));
        var fallbacks = new SortedDictionary<string, long>(StringComparer.Ordinal);
        for (int i = 0; i < EngineFallbacks.Count; i++)
        {
            fallbacks[EngineFallbacks.Name((EngineFallback)i)] = _engine.Fallbacks((EngineFallback)i);
        }
        return new EngineStat(attached, fallbacks, _engine.RingPacketsDropped);
    }

    private static PathStat ToStat(PathCounters c) => new(c.PacketsIn, c.BytesIn, c.PacketsOut, c.BytesOut);
}
