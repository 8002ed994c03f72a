using OverlayKvm.GuestAgent.Config;
using OverlayKvm.GuestAgent.Engine;
using OverlayKvm.GuestAgent.Pipeline;
using OverlayKvm.GuestAgent.Tun;

namespace OverlayKvm.GuestAgent.Control;

/// <summary>Collects counters, adapters and the configuration version into a <see cref="StatReport"/> (R0.10).</summary>
internal sealed class StatBuilder
{
    private readonly DatapathCounters _counters;
    private readonly AgentState _state;
    private readonly AdapterManager _adapters;
    private readonly EngineDatapath? _engine;

    public StatBuilder(DatapathCounters counters, AgentState state, AdapterManager adapters, EngineDatapath? engine = null)
    {
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
            groups.Add(new GroupStat(g.Group, ToStat(g.Local), ToStat(g.Sealed), epoch, ToStat(g.Engine)));
        }
        var drops = new SortedDictionary<string, long>(StringComparer.Ordinal);
        for (int i = 0; i < DropReasons.Count; i++)
        {
            drops[DropReasons.Name((DropReason)i)] = _counters.Drops((DropReason)i);
        }
        return new StatReport(snapshot?.Document.Domain, snapshot?.Version, groups, drops, _adapters.Describe(), BuildEngine());
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
                attached.Add(new EngineGroupAttachment(a.Group, a.RegionPath, a.MySlot, a.Generation, a.IsEnabled, a.Routes.Count));
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
