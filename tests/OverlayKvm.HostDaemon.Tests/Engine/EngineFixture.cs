using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OverlayKvm.Core.Model;
using OverlayKvm.HostDaemon.Engine;
using Microsoft.Extensions.Time.Testing;
using OverlayKvm.TestSupport;

namespace OverlayKvm.HostDaemon.Tests.Engine;

/// <summary>
/// A registry over real region files in a private directory under /dev/shm (deleted on dispose), with two groups:
/// web (vm1: 10.1.0.1, vm2: 10.1.0.2, 10.1.0.3; vm4: 10.1.0.4) and db (vm3: 10.2.0.1).
/// </summary>
internal sealed class EngineFixture : IDisposable
{
    public EngineFixture(int slots = 4)
    {
        Directory = System.IO.Directory.CreateDirectory($"/dev/shm/okvm-engine-test-{Guid.NewGuid():N}").FullName;
        Options = new EngineOptions
        {
            Directory = Directory,
            RegionSizeBytes = 2 << 20,
            SlotCount = slots,
            OwnerUser = "",
            HeartbeatExpiry = TimeSpan.FromSeconds(30),
        };
        Store.DefineGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed);
        Store.DefineGroup("db", IPNetwork.Parse("10.2.0.0/16"), ProtectionLevel.Sealed);
        Store.DefineApplication("web", "front", IPAddress.Parse("10.1.0.1"), "vm1", []);
        Store.DefineApplication("web", "api", IPAddress.Parse("10.1.0.2"), "vm2", []);
        Store.DefineApplication("web", "cache", IPAddress.Parse("10.1.0.3"), "vm2", []);
        Store.DefineApplication("web", "extra", IPAddress.Parse("10.1.0.4"), "vm4", []);
        Store.DefineApplication("db", "main", IPAddress.Parse("10.2.0.1"), "vm3", []);
        Owner = NewOwner();
        Registry = new EngineRegistry(Store, Owner, Counters, Time, Microsoft.Extensions.Options.Options.Create(Options), NullLogger<EngineRegistry>.Instance);
    }

    public string Directory { get; }

    public EngineOptions Options { get; }

    public InMemoryOverlayStore Store { get; } = new();

    public FakeTimeProvider Time { get; } = TestClock.Create();

    public EngineCounters Counters { get; } = new();

    public EngineRegionOwner Owner { get; }

    public EngineRegistry Registry { get; }

    public EngineRegionOwner NewOwner() =>
        new(Microsoft.Extensions.Options.Options.Create(Options), Time, NullLogger<EngineRegionOwner>.Instance);

    public static IPAddress Ip(string text) => IPAddress.Parse(text);

    public void Dispose()
    {
        try
        {
            Owner.Dispose();
            Counters.Dispose();
        }
        finally
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
    }
}
