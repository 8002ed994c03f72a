using System.Net;
using BenchmarkDotNet.Attributes;
using OverlayKvm.Core.Model;
using OverlayKvm.HostDaemon.Store;

namespace OverlayKvm.Bench.Store;

/// <summary>
/// Store-level app-define cost with address allocation, on a store that already holds 10,000 apps:
/// one BEGIN IMMEDIATE transaction, validation, allocation scan, insert and an fsync (synchronous=FULL).
/// The define group has a /8 so the benchmark cannot run out of addresses.
/// </summary>
[MemoryDiagnoser]
public class StoreWriteBenchmarks
{
    private string _directory = "";
    private SqliteOverlayStore _store = null!;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        _directory = Path.Combine(Path.GetTempPath(), "okvm-bench-write-" + Guid.NewGuid().ToString("N"));
        _store = new SqliteOverlayStore(Path.Combine(_directory, "overlay.db"), "bench-host");
        _store.DefineGroup("bulk", IPNetwork.Parse("10.0.0.0/16"), ProtectionLevel.Sealed);
        _store.DefineGroup("define", IPNetwork.Parse("11.0.0.0/8"), ProtectionLevel.Sealed);
        for (var i = 0; i < 10_000; i++)
        {
            _store.DefineApplication("bulk", $"app{i}", null, $"vm{i % 100}", []);
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _store.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Benchmark(Description = "DefineApplication, allocated address")]
    public Application DefineAllocated() => _store.DefineApplication("define", $"d{_next++}", null, "vm0", []);

    [Benchmark(Description = "ListApplications (10,000+ apps)")]
    public int ListApplications() => _store.ListApplications().Count;
}
