using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OverlayKvm.Core.Cluster;
using OverlayKvm.Core.Config;
using OverlayKvm.Core.Store;
using OverlayKvm.HostDaemon.Engine;
using OverlayKvm.HostDaemon.Hosting;

namespace OverlayKvm.HostDaemon.Channel;

/// <summary>
/// Keeps one <see cref="DomainChannelClient"/> per domain placed on this host, connected to the domain's channel
/// socket (<c>{ChannelDir}/{domain}.agent.sock</c>, the path libvirt binds for the virtio-serial port, or the
/// one a test agent listens on). Every store change — made on this host or, in a cluster, arriving from the store's
/// watch — and every change of host liveness re-evaluates the set of domains and pokes each client; a client pushes
/// only when its domain's document actually changed.
/// </summary>
internal sealed partial class ChannelSupervisorService(
    IOverlayStore store,
    DomainConfigBuilder builder,
    LocalHost host,
    IOptions<DaemonOptions> options,
    ILoggerFactory loggers,
    TimeProvider time,
    EngineRegistry engine,
    IHostLiveness liveness) : BackgroundService
{
    private readonly ConcurrentDictionary<string, DomainChannelClient> _clients = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _changed = new(1, 1);
    private readonly ILogger _logger = loggers.CreateLogger<ChannelSupervisorService>();
    private readonly ChannelPeerCheck _peerCheck = new(options.Value.ChannelPeerCheck, options.Value.QemuPidDir);

    public static string SocketPath(string channelDir, string domain) => Path.Combine(channelDir, $"{domain}.agent.sock");

    /// <summary>What <c>GET /v1/channels</c> shows: which agents are connected and which version they applied.</summary>
    public IReadOnlyList<(string Domain, string Socket, bool Connected, long AcknowledgedVersion, long Rejected)> Status()
    {
        var list = new List<(string, string, bool, long, long)>();
        foreach (var (domain, client) in _clients)
            list.Add((domain, SocketPath(options.Value.ChannelDir, domain), client.Connected, client.AcknowledgedVersion, client.RejectedMessages));
        list.Sort((a, b) => string.CompareOrdinal(a.Item1, b.Item1));
        return list;
    }

    /// <summary>The channel client of a domain on this host, or null when overlayd does not watch its channel.</summary>
    public DomainChannelClient? Client(string domain) => _clients.GetValueOrDefault(domain);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        Directory.CreateDirectory(options.Value.ChannelDir);
        store.Changed += OnChanged;
        // A peer host going down or coming back changes documents (its members leave or return) without a store change.
        liveness.Changed += OnLivenessChanged;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                Reconcile();
                await _changed.WaitAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // shutting down
        }
        finally
        {
            store.Changed -= OnChanged;
            liveness.Changed -= OnLivenessChanged;
            foreach (var client in _clients.Values) await client.DisposeAsync();
            _clients.Clear();
        }
    }

    // Raised on the writer's thread after commit: only signal, never work here.
    private void OnChanged(long version)
    {
        if (_changed.CurrentCount == 0) _changed.Release();
    }

    private void OnLivenessChanged() => OnChanged(-1);

    private void Reconcile()
    {
        var wanted = new HashSet<string>(StringComparer.Ordinal);
        foreach (var d in store.ListDomains())
            if (d.Host == host.Name) wanted.Add(d.Name);
        PrepareEngineRegions(wanted);

        foreach (var domain in wanted)
        {
            if (_clients.TryGetValue(domain, out var existing)) { existing.NotifyChanged(); continue; }
            var name = domain;
            var client = new DomainChannelClient(name, SocketPath(options.Value.ChannelDir, name),
                () => builder.Build(name, includeSecrets: true), loggers.CreateLogger<DomainChannelClient>(), time, engine,
                peerCheck: _peerCheck);
            _clients[name] = client;
            client.Start();
            Log.Watching(_logger, name, SocketPath(options.Value.ChannelDir, name));
        }
        foreach (var (domain, client) in _clients)
        {
            if (wanted.Contains(domain)) continue;
            _clients.TryRemove(domain, out _);
            _ = client.DisposeAsync().AsTask();
            // The domain left this host (or was undefined): its engine slots go with its channel.
            engine.RemoveDomain(domain);
            Log.Released(_logger, domain);
        }
    }

    /// <summary>
    /// The regions of the groups these domains have applications in must exist before the first of their VMs
    /// starts: libvirt's ivshmem-plain maps /dev/shm/NAME as it finds it (QEMU would otherwise create a blank file
    /// itself). A failure is logged and retried at the next store change; registration reports it to the agent too.
    /// </summary>
    private void PrepareEngineRegions(HashSet<string> localDomains)
    {
        try
        {
            engine.PrepareRegionsFor(localDomains);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException or ArgumentException)
        {
            Log.RegionsNotPrepared(_logger, ex.Message);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(3, LogLevel.Warning, "engine regions of this host's domains could not be prepared: {Reason}")]
        public static partial void RegionsNotPrepared(ILogger logger, string reason);


        [LoggerMessage(1, LogLevel.Information, "domain {Domain}: watching agent channel {Path}")]
        public static partial void Watching(ILogger logger, string domain, string path);

        [LoggerMessage(2, LogLevel.Information, "domain {Domain}: no longer on this host; channel released")]
        public static partial void Released(ILogger logger, string domain);
    }
}
