using OverlayKvm.Core.Api;
using OverlayKvm.HostDaemon.Channel;
using Prometheus;

namespace OverlayKvm.HostDaemon.Metrics;

/// <summary>
/// What the opt-in Prometheus endpoint serves (docs/metrics.md): overlayd's own counters (its channels; the engine's
/// System.Diagnostics.Metrics instruments through prometheus-net's meter adapter) and each connected agent's counters,
/// asked over the host channels when Prometheus scrapes (the agent is the source of truth; nothing is cached between
/// scrapes). A counter that went down (the agent restarted) is reset, not held at its old maximum. Series of
/// domains that left this host are removed.
/// </summary>
internal sealed class OverlayMetrics : IDisposable
{
    /// <summary>Per agent, per scrape: a slow agent costs its own series (overlaykvm_agent_up 0), never the scrape.</summary>
    public static readonly TimeSpan AgentTimeout = TimeSpan.FromSeconds(1);

    private readonly ChannelSupervisorService _channels;
    private readonly CollectorRegistry _registry = Prometheus.Metrics.NewCustomRegistry();
    private readonly IDisposable _meterAdapter;
    private readonly Gauge _connected;
    private readonly Counter _rejected;
    private readonly Gauge _configApplied;
    private readonly Gauge _agentUp;
    private readonly Counter _packets;
    private readonly Counter _bytes;
    private readonly Counter _drops;
    private readonly Counter _transmission;
    private readonly Counter _fallbacks;
    private readonly Counter _ringDrops;
    private readonly Gauge _holders;
    private readonly Collector[] _perDomain;
    private readonly HashSet<string> _domains = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _refresh = new(1, 1);

    public OverlayMetrics(ChannelSupervisorService channels)
    {
        _channels = channels;
        IMetricFactory f = Prometheus.Metrics.WithCustomRegistry(_registry);
        _connected = f.CreateGauge("overlaykvm_channel_connected", "1 while the domain's agent is connected to its host channel.", ["domain"]);
        _rejected = f.CreateCounter("overlaykvm_channel_rejected_messages_total", "Messages from the guest overlayd refused (unknown, unparsable, oversized, unacceptable).", ["domain"]);
        _configApplied = f.CreateGauge("overlaykvm_channel_config_version_applied", "Configuration version the agent last acknowledged as applied (-1: none).", ["domain"]);
        _agentUp = f.CreateGauge("overlaykvm_agent_up", "1 when the agent answered this scrape's counter request.", ["domain"]);
        _packets = f.CreateCounter("overlaykvm_agent_packets_total", "Packets per group, path (local, engine, sealed, clear) and direction (in, out).", ["domain", "group", "path", "direction"]);
        _bytes = f.CreateCounter("overlaykvm_agent_bytes_total", "Bytes per group, path (local, engine, sealed, clear) and direction (in, out).", ["domain", "group", "path", "direction"]);
        _drops = f.CreateCounter("overlaykvm_agent_drops_total", "Packets the agent dropped, by reason.", ["domain", "reason"]);
        _transmission = f.CreateCounter("overlaykvm_agent_transmission_events_total", "Transmission manager events (negotiations, decisions, queueing), by name.", ["domain", "event"]);
        _fallbacks = f.CreateCounter("overlaykvm_agent_engine_fallbacks_total", "Packets that took the sealed path instead of the engine, by reason.", ["domain", "reason"]);
        _ringDrops = f.CreateCounter("overlaykvm_agent_engine_ring_drops_total", "Packets dropped because an engine ring was full.", ["domain"]);
        _holders = f.CreateGauge("overlaykvm_agent_adapter_holders", "App processes and units counted on the group's adapter.", ["domain", "group", "device"]);
        _perDomain = [_connected, _rejected, _configApplied, _agentUp, _packets, _bytes, _drops, _transmission, _fallbacks, _ringDrops, _holders];
        _registry.AddBeforeCollectCallback(RefreshAsync);
        _meterAdapter = MeterAdapter.StartListening(new MeterAdapterOptions
        {
            Registry = _registry,
            InstrumentFilterPredicate = i => i.Meter.Name.StartsWith("OverlayKvm.", StringComparison.Ordinal),
        });
    }

    /// <summary>Writes the Prometheus text exposition format (version 0.0.4).</summary>
    public Task WriteAsync(Stream stream, CancellationToken cancellationToken) => _registry.CollectAndExportAsTextAsync(stream, cancellationToken);

    private async Task RefreshAsync(CancellationToken cancellationToken)
    {
        // Two scrapes at once would otherwise interleave their resets of the same series.
        await _refresh.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var status = _channels.Status();
            var present = new HashSet<string>(StringComparer.Ordinal);
            var asks = new List<(string Domain, Task<AgentCounters> Answer)>();
            foreach (var (domain, _, connected, applied, rejected) in status)
            {
                present.Add(domain);
                _domains.Add(domain);
                _connected.WithLabels(domain).Set(connected ? 1 : 0);
                SetCounter(_rejected, rejected, domain);
                _configApplied.WithLabels(domain).Set(applied);
                if (connected && _channels.Client(domain) is { } client)
                {
                    asks.Add((domain, client.QueryCountersAsync(AgentTimeout, cancellationToken)));
                }
                else
                {
                    _agentUp.WithLabels(domain).Set(0);
                }
            }
            foreach (var (domain, answer) in asks)
            {
                try
                {
                    Apply(domain, await answer.ConfigureAwait(false));
                    _agentUp.WithLabels(domain).Set(1);
                }
                catch (AgentUnavailableException)
                {
                    _agentUp.WithLabels(domain).Set(0);
                }
            }
            foreach (string gone in _domains.Where(d => !present.Contains(d)).ToArray())
            {
                RemoveDomain(gone);
                _domains.Remove(gone);
            }
        }
        finally
        {
            _refresh.Release();
        }
    }

    private void Apply(string domain, AgentCounters c)
    {
        foreach (AgentGroupCounters g in c.Groups)
        {
            foreach (var (path, p) in new[] { ("local", g.Local), ("engine", g.Engine), ("sealed", g.Sealed), ("clear", g.Clear) })
            {
                SetCounter(_packets, p.PacketsIn, domain, g.Group, path, "in");
                SetCounter(_packets, p.PacketsOut, domain, g.Group, path, "out");
                SetCounter(_bytes, p.BytesIn, domain, g.Group, path, "in");
                SetCounter(_bytes, p.BytesOut, domain, g.Group, path, "out");
            }
        }
        foreach (var (reason, n) in c.Drops)
        {
            SetCounter(_drops, n, domain, reason);
        }
        if (c.Transmission is { } t)
        {
            foreach (var (name, n) in t.Counters)
            {
                SetCounter(_transmission, n, domain, name);
            }
        }
        if (c.Engine is { } e)
        {
            foreach (var (reason, n) in e.Fallbacks)
            {
                SetCounter(_fallbacks, n, domain, reason);
            }
            SetCounter(_ringDrops, e.RingDrops, domain);
        }
        // Adapters come and go with their apps: only the current ones are exported.
        foreach (string[] labels in _holders.GetAllLabelValues().ToArray())
        {
            if (labels[0] == domain)
            {
                _holders.RemoveLabelled(labels);
            }
        }
        foreach (AgentAdapterCounters a in c.Adapters)
        {
            _holders.WithLabels(domain, a.Group, a.Device).Set(a.Count);
        }
    }

    /// <summary>Prometheus counters only grow; a smaller value means the source restarted: start the series again.</summary>
    private static void SetCounter(Counter counter, long value, params string[] labels)
    {
        Counter.Child child = counter.WithLabels(labels);
        if (value < child.Value)
        {
            counter.RemoveLabelled(labels);
            child = counter.WithLabels(labels);
        }
        child.IncTo(value);
    }

    private void RemoveDomain(string domain)
    {
        foreach (Collector collector in _perDomain)
        {
            switch (collector)
            {
                case Counter c:
                    RemoveFirstLabel(c.GetAllLabelValues(), c.RemoveLabelled, domain);
                    break;
                case Gauge g:
                    RemoveFirstLabel(g.GetAllLabelValues(), g.RemoveLabelled, domain);
                    break;
            }
        }
    }

    private static void RemoveFirstLabel(IEnumerable<string[]> all, Action<string[]> remove, string domain)
    {
        foreach (string[] labels in all.ToArray())
        {
            if (labels.Length > 0 && labels[0] == domain)
            {
                remove(labels);
            }
        }
    }

    public void Dispose()
    {
        _meterAdapter.Dispose();
        _refresh.Dispose();
    }
}
