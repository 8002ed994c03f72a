using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using OverlayKvm.Core.Model;
using OverlayKvm.HostDaemon.Engine;
using OverlayKvm.HostDaemon.Store;

namespace OverlayKvm.Fuzz.Fixtures;

/// <summary>
/// overlayd's store and acceleration engine as the daemon builds them, over private files: the SQLite store in a
/// scratch directory and the engine's region files in a scratch directory under /dev/shm. Group web (10.1.0.0/16)
/// has app front (10.1.0.1) on domain fz-vm1 and app back (10.1.0.2) on fz-vm2.
/// </summary>
internal sealed class HostSide : IDisposable
{
    public const string Domain = "fz-vm1";
    private readonly ScratchDirectory _state = new("store");
    private readonly ScratchDirectory _regions = new("engine", sharedMemory: true);

    public HostSide()
    {
        Store = new SqliteOverlayStore(Path.Combine(_state.Path, "overlay.db"), "fz-host", Time);
        Store.DefineGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed);
        Store.DefineApplication("web", "front", IPAddress.Parse("10.1.0.1"), Domain, []);
        Store.DefineApplication("web", "back", IPAddress.Parse("10.1.0.2"), "fz-vm2", []);
        var options = Microsoft.Extensions.Options.Options.Create(new EngineOptions
        {
            Directory = _regions.Path,
            RegionSizeBytes = 1 << 20,
            SlotCount = 4,
            OwnerUser = "",
        });
        Regions = new EngineRegionOwner(options, Time, NullLogger<EngineRegionOwner>.Instance);
        Engine = new EngineRegistry(Store, Regions, Counters, Time, options, NullLogger<EngineRegistry>.Instance);
    }

    public FixedTime Time { get; } = new();

    public SqliteOverlayStore Store { get; }

    public EngineCounters Counters { get; } = new();

    public EngineRegionOwner Regions { get; }

    public EngineRegistry Engine { get; }

    public void Dispose()
    {
        Regions.Dispose();
        Counters.Dispose();
        Store.Dispose();
        _regions.Dispose();
        _state.Dispose();
    }
}
