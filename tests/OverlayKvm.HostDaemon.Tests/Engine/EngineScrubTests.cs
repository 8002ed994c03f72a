using OverlayKvm.Core.SharedMemory;
using OverlayKvm.HostDaemon.Engine;
using static OverlayKvm.HostDaemon.Tests.Engine.EngineFixture;

namespace OverlayKvm.HostDaemon.Tests.Engine;

/// <summary>Issue 4, Show 5 (daemon side): guests scribble over the region; the daemon detects, counts and repairs.</summary>
public sealed class EngineScrubTests : IDisposable
{
    private readonly EngineFixture _f = new();

    [Fact]
    public void Scrub_OfAnIntactRegion_RepairsNothing()
    {
        _f.Registry.Register("vm1", Ip("10.1.0.1"));

        Assert.Equal(0, _f.Registry.Scrub());
    }

    [Fact]
    public void Scrub_AfterHeaderSlotAndControlDamage_RepairsEach_AndCounts()
    {
        int slot = _f.Registry.Register("vm1", Ip("10.1.0.1")).Slot;
        _f.Owner.TryGet("web", out EngineRegion? region);
        region!.Mapping.GetSpan(24, 1)[0] ^= 0xFF;                                         // header: region size
        region.Mapping.GetSpan(region.Layout.SlotOffset(slot) + SlotEntry.AddressesOffset + 4, 1)[0] = 99; // forged address
        region.Mapping.GetSpan(region.Layout.SlotOffset(slot ^ 1) + 4, 1)[0] = 1;          // free slot claimed active
        region.Control.SetEngineEnabled(false);                                           // a guest switching it off

        Assert.Equal(4, _f.Registry.Scrub());

        Assert.Equal(RegionHeaderStatus.Valid, region.CheckHeader());
        Assert.Equal(SlotReadStatus.Valid, region.Slots.TryRead(slot, out SlotEntry? entry));
        Assert.Equal([Ip("10.1.0.1")], entry!.Addresses);
        Assert.Equal(SlotReadStatus.Free, region.Slots.TryRead(slot ^ 1, out _));
        Assert.True(region.Control.IsEngineEnabled);
        Assert.Equal(1, _f.Counters.HeaderRepairs);
        Assert.Equal(2, _f.Counters.SlotRepairs);
        Assert.Equal(1, _f.Counters.ControlRepairs);
        Assert.Equal(0, _f.Registry.Scrub());
    }

    [Fact]
    public void Scrub_AfterRandomBytesEverywhereButTheRings_AlwaysConverges()
    {
        _f.Registry.Register("vm1", Ip("10.1.0.1"));
        _f.Registry.Register("vm2", Ip("10.1.0.2"));
        _f.Owner.TryGet("web", out EngineRegion? region);
        var random = new Random(3);
        for (int round = 0; round < 200; round++)
        {
            Span<byte> meta = region!.Mapping.GetSpan(0, region.Layout.RingsOffset);
            for (int i = 0; i < 20; i++)
            {
                meta[random.Next(meta.Length)] = (byte)random.Next(256);
            }

            _f.Registry.Scrub();

            Assert.Equal(0, _f.Registry.Scrub());
            Assert.Equal(RegionHeaderStatus.Valid, region.CheckHeader());
        }

        Assert.True(_f.Registry.Query("vm1", Ip("10.1.0.2")).Accessible);
    }

    public void Dispose() => _f.Dispose();
}

public sealed class EngineRecreateTests : IDisposable
{
    private readonly EngineFixture _f = new();

    [Fact]
    public void RecreateRegion_KeepsRegistrations_WithAHigherGeneration()
    {
        _f.Registry.Register("vm1", Ip("10.1.0.1"));
        int slot = _f.Registry.Register("vm2", Ip("10.1.0.2")).Slot;
        ulong before = _f.Registry.Query("vm1", Ip("10.1.0.2")).Generation;
        _f.Time.Advance(TimeSpan.FromSeconds(1));

        _f.Registry.RecreateRegion("web");

        QueryResult after = _f.Registry.Query("vm1", Ip("10.1.0.2"));
        Assert.True(after.Accessible);
        Assert.True(after.Generation > before);
        Assert.True(_f.Owner.TryGet("web", out EngineRegion? region));
        Assert.Equal(SlotReadStatus.Valid, region!.Slots.TryRead(slot, out SlotEntry? entry));
        Assert.Equal("vm2", entry!.Domain);
        Assert.Equal(0, _f.Registry.Scrub());
    }

    public void Dispose() => _f.Dispose();
}
