using System.Net;
using BenchmarkDotNet.Attributes;
using OverlayKvm.Core.Config;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.Store;
using OverlayKvm.HostDaemon.Store;

namespace OverlayKvm.Bench.Store;

/// <summary>
/// Configuration-document generation at 10,000 apps: 10 groups of 1,000 apps spread over 100 domains, so every
/// domain runs apps of all 10 groups and its document lists all 10,000 members (the worst case for one push).
/// Measured separately: the consistent store read, the build from a snapshot, and both together.
/// </summary>
[MemoryDiagnoser]
public class DomainConfigBenchmarks
{
    public const int Groups = 10;
    public const int AppsPerGroup = 1_000;
    public const int Domains = 100;

    private string _directory = "";
    private SqliteOverlayStore _store = null!;
    private DomainConfigBuilder _builder = null!;
    private StoreSnapshot _snapshot = null!;

    [GlobalSetup]
    public void Setup()
    {
        _directory = Path.Combine(Path.GetTempPath(), "okvm-bench-config-" + Guid.NewGuid().ToString("N"));
        _store = new SqliteOverlayStore(Path.Combine(_directory, "overlay.db"), "bench-host");
        for (var d = 0; d < Domains; d++)
        {
            _store.UpsertDomain($"vm{d}", Guid.NewGuid(), $"host{d % 4}", IPAddress.Parse($"192.168.{d / 250}.{1 + (d % 250)}"));
        }

        for (var g = 0; g < Groups; g++)
        {
            _store.DefineGroup($"group{g}", IPNetwork.Parse($"10.{g}.0.0/16"), ProtectionLevel.Sealed);
        }

        for (var i = 0; i < Groups * AppsPerGroup; i++)
        {
            // Ten consecutive apps (one per group) share a domain: each domain runs all ten groups.
            _store.DefineApplication($"group{i % Groups}", $"app{i}", null, $"vm{i / Groups % Domains}", []);
        }

        _builder = new DomainConfigBuilder(_store);
        _snapshot = _store.ReadSnapshot();
        var members = DomainConfigBuilder.Build(_snapshot, "vm7", includeSecrets: true).Groups.Sum(g => g.Members.Count);
        if (members != Groups * AppsPerGroup)
        {
            throw new InvalidOperationException($"benchmark setup: vm7's document lists {members} members, expected {Groups * AppsPerGroup}");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _store.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Benchmark(Description = "ReadSnapshot uncached (10,000 apps)")]
    public StoreSnapshot ReadSnapshot() => _store.ReadSnapshot(useCache: false);

    [Benchmark(Description = "Build from snapshot (doc with 10,000 members)")]
    public DomainConfigDocument BuildFromSnapshot() => DomainConfigBuilder.Build(_snapshot, "vm7", includeSecrets: true);

    [Benchmark(Description = "Build from store, uncached read + build")]
    public DomainConfigDocument BuildFromStoreUncached() => DomainConfigBuilder.Build(_store.ReadSnapshot(useCache: false), "vm7", includeSecrets: true);

    [Benchmark(Description = "Build from store, unchanged version (cached snapshot)")]
    public DomainConfigDocument BuildFromStore() => _builder.Build("vm7", includeSecrets: true);
}
