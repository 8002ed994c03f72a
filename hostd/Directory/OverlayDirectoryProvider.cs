using System.Net;
using Microsoft.Extensions.Options;
using OverlayKvm.Core.Cluster;
using OverlayKvm.Core.DirectoryService;
using OverlayKvm.Core.Policy;
using OverlayKvm.Core.Store;
using OverlayKvm.HostDaemon.Policy;

// Not "…Directory": a namespace of that name would hide System.IO.Directory in the rest of overlayd.
namespace OverlayKvm.HostDaemon.DirectoryService;

/// <summary>
/// overlayd's directory service (seed 002 R1-R5): the <see cref="OverlayDirectory"/> of the current store
/// version, rebuilt lazily when the version moves and shared (it is immutable) until then. Lookups for the
/// admin API and, later, for agents' queries on the host channel go through <see cref="Current"/>. Entries on hosts
/// whose lease expired are marked unreachable (<see cref="IHostLiveness"/>).
/// </summary>
public sealed class OverlayDirectoryProvider
{
    private readonly IOverlayStore _store;
    private readonly PolicyDefaults _defaults;
    private readonly PathClassifier _paths;
    private readonly IHostLiveness _liveness;
    private OverlayDirectory? _current;

    public OverlayDirectoryProvider(IOverlayStore store, IOptions<PolicyOptions> policy, IOptions<DirectoryOptions> directory, IHostLiveness? liveness = null)
        : this(store, PolicyOptionsValidator.ToDefaults(policy.Value), DirectoryOptionsValidator.ToClassifier(directory.Value), liveness)
    {
    }

    public OverlayDirectoryProvider(IOverlayStore store, PolicyDefaults defaults, IReadOnlyList<IPNetwork> trustedSegments, TransformationTable table,
        IHostLiveness? liveness = null)
        : this(store, defaults, new PathClassifier(trustedSegments, table), liveness)
    {
    }

    public OverlayDirectoryProvider(IOverlayStore store, PolicyDefaults defaults, PathClassifier paths, IHostLiveness? liveness = null)
    {
        _store = store;
        _defaults = defaults;
        _paths = paths;
        _liveness = liveness ?? EveryHostLive.Instance;
        // A host coming or going changes reachability without a store change: drop the cached directory.
        _liveness.Changed += () => Volatile.Write(ref _current, null);
    }

    public PolicyDefaults Defaults => _defaults;

    /// <summary>The classifier behind every lookup; the documents pushed to agents are built with the same one.</summary>
    public PathClassifier Paths => _paths;

    /// <summary>The directory at the store's current version (built at most once per version).</summary>
    public OverlayDirectory Current()
    {
        var cached = Volatile.Read(ref _current);
        if (cached is not null && cached.Version == _store.CurrentVersion())
        {
            return cached;
        }

        // Two threads may build the same version concurrently; both results are equal, the last one is kept.
        var built = OverlayDirectory.Build(_store.ReadSnapshot(), _defaults, _paths, _liveness.IsAlive);
        Volatile.Write(ref _current, built);
        return built;
    }
}
