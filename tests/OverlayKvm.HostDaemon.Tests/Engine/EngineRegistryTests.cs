using OverlayKvm.Core.Api;
using System.Net;
using OverlayKvm.Core.SharedMemory;
using OverlayKvm.HostDaemon.Engine;
using static OverlayKvm.HostDaemon.Tests.Engine.EngineFixture;

namespace OverlayKvm.HostDaemon.Tests.Engine;

public sealed class EngineRegistryTests : IDisposable
{
    private readonly EngineFixture _f = new();

    [Fact]
    public void Register_OwnApplication_GetsASlot_AndTheRegionMirrorsIt()
    {
        RegisterResult result = _f.Registry.Register("vm1", Ip("10.1.0.1"));

        Assert.Equal(RegisterStatus.Registered, result.Status);
        Assert.Equal("web", result.Group);
        Assert.Equal("overlaykvm-web", result.RegionName);
        Assert.True(_f.Owner.TryGet("web", out EngineRegion? region));
        Assert.Equal(SlotReadStatus.Valid, region!.Slots.TryRead(result.Slot, out SlotEntry? entry));
        Assert.Equal("vm1", entry!.Domain);
        Assert.Equal([Ip("10.1.0.1")], entry.Addresses);
        Assert.Equal(1, _f.Counters.Registrations);
    }

    [Fact]
    public void Register_AddressOfAnotherDomainsApplication_IsRefused_NamingBoth()
    {
        RegisterResult result = _f.Registry.Register("vm1", Ip("10.1.0.2"));

        Assert.Equal(RegisterStatus.NotOwnedByDomain, result.Status);
        Assert.Contains("vm1", result.Error);
        Assert.Contains("vm2", result.Error);
        Assert.Equal(1, _f.Counters.RegistrationsRefused);
    }

    [Fact]
    public void Register_UnknownAddress_IsRefused()
    {
        Assert.Equal(RegisterStatus.UnknownAddress, _f.Registry.Register("vm1", Ip("10.9.9.9")).Status);
    }

    [Fact]
    public void Register_TwoAddressesOfOneDomain_ShareOneSlot_AndRepeatingIsIdempotent()
    {
        RegisterResult first = _f.Registry.Register("vm2", Ip("10.1.0.2"));
        RegisterResult second = _f.Registry.Register("vm2", Ip("10.1.0.3"));
        RegisterResult again = _f.Registry.Register("vm2", Ip("10.1.0.3"));

        Assert.Equal(first.Slot, second.Slot);
        Assert.Equal(RegisterStatus.AlreadyRegistered, again.Status);
        Assert.Equal(second.Slot, again.Slot);
    }

    [Fact]
    public void Register_IPv4MappedIPv6Address_IsTheSameAddress()
    {
        Assert.Equal(RegisterStatus.Registered, _f.Registry.Register("vm1", Ip("10.1.0.1").MapToIPv6()).Status);
        Assert.Equal(RegisterStatus.AlreadyRegistered, _f.Registry.Register("vm1", Ip("10.1.0.1")).Status);
    }

    [Fact]
    public void Query_BetweenMembersOfOneGroup_IsAccessible_WithBothSlots()
    {
        int s1 = _f.Registry.Register("vm1", Ip("10.1.0.1")).Slot;
        int s2 = _f.Registry.Register("vm2", Ip("10.1.0.2")).Slot;

        QueryResult answer = _f.Registry.Query("vm1", Ip("10.1.0.2"));

        Assert.True(answer.Accessible);
        Assert.Equal(s2, answer.Slot);
        Assert.Equal(s1, answer.AskerSlot);
        Assert.Equal("overlaykvm-web", answer.RegionName);
        Assert.Equal(1, _f.Counters.Queries(QueryOutcome.Accessible));
    }

    [Fact]
    public void Query_SaysWhetherTheDestinationsAgentReadsSuperPackets_AsItsLatestRegistrationSaid()
    {
        _f.Registry.Register("vm1", Ip("10.1.0.1"), superPackets: true);
        _f.Registry.Register("vm2", Ip("10.1.0.2"));
        Assert.False(_f.Registry.Query("vm1", Ip("10.1.0.2")).SuperPackets); // an agent from before super-packets
        Assert.True(_f.Registry.Query("vm2", Ip("10.1.0.1")).SuperPackets);

        // vm2's agent was upgraded: its next round registers again, saying so.
        _f.Registry.Register("vm2", Ip("10.1.0.2"), superPackets: true);
        Assert.True(_f.Registry.Query("vm1", Ip("10.1.0.2")).SuperPackets);
    }

    [Fact]
    public void Query_FromAVmOfAnotherGroup_IsNotAccessible_AndRevealsNothing()
    {
        _f.Registry.Register("vm2", Ip("10.1.0.2"));
        _f.Registry.Register("vm3", Ip("10.2.0.1"));

        QueryResult answer = _f.Registry.Query("vm3", Ip("10.1.0.2"));

        Assert.False(answer.Accessible);
        Assert.Equal(QueryOutcome.NotGroupMember, answer.Outcome);
        Assert.Null(answer.Group);
        Assert.Null(answer.RegionName);
        Assert.Equal(-1, answer.Slot);
    }

    [Fact]
    public void Query_ForAnUnregisteredOrOwnAddress_IsNotAccessible()
    {
        _f.Registry.Register("vm2", Ip("10.1.0.2"));
        _f.Registry.Register("vm2", Ip("10.1.0.3"));

        Assert.Equal(QueryOutcome.NotRegistered, _f.Registry.Query("vm2", Ip("10.1.0.1")).Outcome);
        Assert.Equal(QueryOutcome.SameDomain, _f.Registry.Query("vm2", Ip("10.1.0.3")).Outcome);
    }

    [Fact]
    public void Disable_MakesQueriesNotAccessible_FlagsTheRegion_AndEnableRestores()
    {
        _f.Registry.Register("vm1", Ip("10.1.0.1"));
        _f.Registry.Register("vm2", Ip("10.1.0.2"));
        var changes = new List<(string, ulong)>();
        _f.Registry.DirectoryChanged += (g, v) => changes.Add((g, v));
        _f.Owner.TryGet("web", out EngineRegion? region);

        Assert.Equal(EngineSwitchStatus.Changed, _f.Registry.SetEnabled("web", false));
        Assert.Equal(QueryOutcome.EngineDisabled, _f.Registry.Query("vm1", Ip("10.1.0.2")).Outcome);
        Assert.False(region!.Control.IsEngineEnabled);
        Assert.Equal(EngineSwitchStatus.Unchanged, _f.Registry.SetEnabled("web", false));

        Assert.Equal(EngineSwitchStatus.Changed, _f.Registry.SetEnabled("web", true));
        Assert.True(_f.Registry.Query("vm1", Ip("10.1.0.2")).Accessible);
        Assert.True(region.Control.IsEngineEnabled);
        Assert.Equal(2, changes.Count);
        Assert.True(changes[1].Item2 > changes[0].Item2);
        Assert.Equal(region.Control.DirectoryVersion, changes[1].Item2);
    }

    [Fact]
    public void SetEnabled_UnknownGroup_IsReported()
    {
        Assert.Equal(EngineSwitchStatus.UnknownGroup, _f.Registry.SetEnabled("nope", false));
    }

    [Fact]
    public void SilentDomain_ExpiresFromQueries_ThenLosesItsSlot_AndMustRegisterAgain()
    {
        _f.Registry.Register("vm1", Ip("10.1.0.1"));
        _f.Registry.Register("vm2", Ip("10.1.0.2"));
        _f.Time.Advance(TimeSpan.FromSeconds(20));
        Assert.Equal(HeartbeatStatus.Accepted, _f.Registry.Heartbeat("vm1"));
        _f.Time.Advance(TimeSpan.FromSeconds(15)); // vm2 silent for 35 s, vm1 for 15 s

        Assert.Equal(QueryOutcome.HeartbeatExpired, _f.Registry.Query("vm1", Ip("10.1.0.2")).Outcome);
        Assert.Equal(1, _f.Registry.ExpireStale());
        Assert.Equal(QueryOutcome.NotRegistered, _f.Registry.Query("vm1", Ip("10.1.0.2")).Outcome);
        Assert.Equal(HeartbeatStatus.UnknownDomain, _f.Registry.Heartbeat("vm2"));
        Assert.Equal(HeartbeatStatus.Accepted, _f.Registry.Heartbeat("vm1"));
        Assert.Equal(1, _f.Counters.Expirations);
    }

    [Fact]
    public void Register_WhenEverySlotIsTaken_IsNoFreeSlot()
    {
        using var f = new EngineFixture(slots: 2);
        f.Registry.Register("vm1", Ip("10.1.0.1"));
        f.Registry.Register("vm2", Ip("10.1.0.2"));

        RegisterResult third = f.Registry.Register("vm4", Ip("10.1.0.4"));

        Assert.Equal(RegisterStatus.NoFreeSlot, third.Status);
        Assert.Contains("web", third.Error);
    }

    [Fact]
    public void Deregister_LastAddress_FreesTheSlot_AndANewOccupantGetsEmptyRings()
    {
        using var f = new EngineFixture(slots: 2);
        int s1 = f.Registry.Register("vm1", Ip("10.1.0.1")).Slot;
        int s2 = f.Registry.Register("vm2", Ip("10.1.0.2")).Slot;
        f.Owner.TryGet("web", out EngineRegion? region);
        using (RingProducer producer = region!.OpenProducer(s1, s2))
        {
            producer.TryWrite([1, 2, 3]);
        }

        Assert.Equal(DeregisterStatus.Deregistered, f.Registry.Deregister("vm2", Ip("10.1.0.2")));
        Assert.Equal(SlotReadStatus.Free, region.Slots.TryRead(s2, out _));
        Assert.Equal(DeregisterStatus.NotRegistered, f.Registry.Deregister("vm2", Ip("10.1.0.2")));
        Assert.Equal(s2, f.Registry.Register("vm4", Ip("10.1.0.4")).Slot);
        Assert.Equal(0UL, region.ReadRingStatistics(s1, s2).Pending);
    }

    [Fact]
    public void RemoveDomain_DropsAllItsRegistrations()
    {
        _f.Registry.Register("vm2", Ip("10.1.0.2"));
        _f.Registry.Register("vm1", Ip("10.1.0.1"));

        Assert.Equal(1, _f.Registry.RemoveDomain("vm2"));
        Assert.Equal(QueryOutcome.NotRegistered, _f.Registry.Query("vm1", Ip("10.1.0.2")).Outcome);
    }

    [Fact]
    public void GrantsFor_ADomain_ListsOnlyTheRegionsOfItsOwnGroups()
    {
        IReadOnlyList<EngineRegionGrant> grants = _f.Registry.GrantsFor("vm3");

        EngineRegionGrant grant = Assert.Single(grants);
        Assert.Equal("db", grant.Group);
        Assert.Equal("overlaykvm-db", grant.RegionName);
        Assert.Equal(Path.Combine(_f.Directory, "overlaykvm-db"), grant.Path);
        Assert.Equal(2 << 20, grant.SizeBytes);
        Assert.True(File.Exists(grant.Path));
        Assert.Empty(_f.Registry.GrantsFor("vm-unknown"));
    }

    [Fact]
    public void PrepareRegionsFor_DomainsOfThisHost_LaysOutTheirGroupsRegionsBeforeAnyRegistration()
    {
        string web = Path.Combine(_f.Directory, "overlaykvm-web"), db = Path.Combine(_f.Directory, "overlaykvm-db");

        IReadOnlyList<EngineRegionGrant> grants = _f.Registry.PrepareRegionsFor(new HashSet<string>(StringComparer.Ordinal) { "vm1", "vm2" });

        // vm1 and vm2 have apps in web only: db's region is not this host's business.
        Assert.Equal(["web"], grants.Select(g => g.Group).ToArray());
        Assert.False(File.Exists(db), "db has no application on vm1 or vm2: its region must not be created");
        Assert.Equal(2 << 20, new FileInfo(web).Length);
        // The file holds overlayd's layout (what QEMU then maps as it is), not a blank file.
        using (SharedMemoryMapping mapping = SharedMemoryMapping.CreateOrOpen(web, 2 << 20, UnixFileMode.UserRead | UnixFileMode.UserWrite, null))
        {
            Assert.Equal(RegionHeaderStatus.Valid, EngineRegion.TryAttach(mapping, out EngineRegion? attached));
            Assert.Equal("web", attached!.Group);
            attached.Dispose();
        }

        Assert.Equal(0, _f.Registry.Snapshot().Counters.Registrations);
        // A later registration uses the prepared region (same generation), it does not re-initialise it.
        ulong generation = _f.Registry.Snapshot().Groups.Single(g => g.Group == "web").Generation;
        Assert.True(_f.Registry.Register("vm1", Ip("10.1.0.1")).Succeeded);
        Assert.Equal(generation, _f.Registry.Snapshot().Groups.Single(g => g.Group == "web").Generation);
    }

    [Fact]
    public void RemoveUndefinedGroups_DeletesTheRegionsOfGroupsGoneFromTheStore_KeepsTheOthers()
    {
        string web = Path.Combine(_f.Directory, "overlaykvm-web"), db = Path.Combine(_f.Directory, "overlaykvm-db");
        _f.Registry.Register("vm1", Ip("10.1.0.1"));
        _f.Registry.Register("vm3", Ip("10.2.0.1"));
        Assert.True(File.Exists(web) && File.Exists(db));

        Assert.Empty(_f.Registry.RemoveUndefinedGroups());
        _f.Store.UndefineApplication("db", _f.Store.ListApplications("db").Single().Name);
        _f.Store.UndefineGroup("db");

        Assert.Equal(["db"], _f.Registry.RemoveUndefinedGroups());
        Assert.False(File.Exists(db), "an undefined group's region stays in /dev/shm");
        Assert.True(File.Exists(web));
        Assert.Equal(["web"], _f.Registry.Snapshot().Groups.Select(g => g.Group));
    }

    [Fact]
    public void Snapshot_ListsAddressesPerGroupAndSlot_AndRingFigures()
    {
        int s1 = _f.Registry.Register("vm1", Ip("10.1.0.1")).Slot;
        int s2 = _f.Registry.Register("vm2", Ip("10.1.0.2")).Slot;
        _f.Registry.Register("vm2", Ip("10.1.0.3"));
        _f.Registry.Register("vm3", Ip("10.2.0.1"));
        _f.Owner.TryGet("web", out EngineRegion? region);
        using (RingProducer producer = region!.OpenProducer(s1, s2))
        {
            producer.TryWrite(new byte[1000]);
        }

        EngineStat stat = _f.Registry.Snapshot();

        Assert.Equal(["db", "web"], stat.Groups.Select(g => g.Group));
        EngineGroupStat web = stat.Groups[1];
        Assert.Equal("Valid", web.HeaderStatus);
        Assert.Equal(["10.1.0.2", "10.1.0.3"], web.Slots.Single(s => s.Domain == "vm2").Addresses);
        EngineRingStat ring = web.Rings.Single(r => r.From == s1 && r.To == s2);
        Assert.Equal(1UL, ring.RecordsWritten);
        Assert.Equal(1000UL, ring.BytesWritten);
        Assert.Equal(4, stat.Counters.Registrations);
    }

    public void Dispose() => _f.Dispose();
}

public sealed class EngineRegistryRestartTests : IDisposable
{
    private readonly EngineFixture _f = new();
    private readonly List<IDisposable> _disposables = [];

    [Fact]
    public void DaemonRestart_RebuildsRegistrationsFromTheRegion_SlotsStayWhereAgentsUseThem()
    {
        int s1 = _f.Registry.Register("vm1", Ip("10.1.0.1")).Slot;
        int s2 = _f.Registry.Register("vm2", Ip("10.1.0.2")).Slot;

        EngineRegistry restarted = Restart();

        QueryResult answer = restarted.Query("vm1", Ip("10.1.0.2"));
        Assert.True(answer.Accessible);
        Assert.Equal(s2, answer.Slot);
        Assert.Equal(s1, answer.AskerSlot);
        Assert.Equal(HeartbeatStatus.Accepted, restarted.Heartbeat("vm2"));
    }

    [Fact]
    public void DaemonRestart_DropsMirrorEntriesTheStoreDoesNotConfirm()
    {
        _f.Registry.Register("vm1", Ip("10.1.0.1"));
        _f.Owner.TryGet("web", out EngineRegion? region);
        // A guest forged a valid-looking entry: vm4 claims vm2's address and an address of another group.
        region!.Slots.Write(3, new SlotEntry("vm4", [Ip("10.1.0.2"), Ip("10.2.0.1")], 1));

        EngineRegistry restarted = Restart();

        Assert.Equal(QueryOutcome.NotRegistered, restarted.Query("vm1", Ip("10.1.0.2")).Outcome);
        Assert.Equal(SlotReadStatus.Free, region.Slots.TryRead(3, out _));
        Assert.Equal(HeartbeatStatus.UnknownDomain, restarted.Heartbeat("vm4"));
        Assert.Equal(HeartbeatStatus.Accepted, restarted.Heartbeat("vm1"));
    }

    [Fact]
    public void DaemonRestart_KeepsAGroupSwitchedOff()
    {
        _f.Registry.Register("vm1", Ip("10.1.0.1"));
        _f.Registry.SetEnabled("web", false);

        EngineRegistry restarted = Restart();

        Assert.False(restarted.IsEnabled("web"));
        Assert.Equal(QueryOutcome.EngineDisabled, restarted.Query("vm1", Ip("10.1.0.1")).Outcome);
        Assert.Equal(EngineSwitchStatus.Unchanged, restarted.SetEnabled("web", false));
    }

    public void Dispose()
    {
        foreach (IDisposable d in _disposables)
        {
            d.Dispose();
        }

        _f.Dispose();
    }

    /// <summary>A new owner and registry over the same files and store: what a restarted overlayd builds.</summary>
    private EngineRegistry Restart()
    {
        EngineRegionOwner owner = _f.NewOwner();
        _disposables.Add(owner);
        var registry = new EngineRegistry(_f.Store, owner, _f.Counters, _f.Time,
            Microsoft.Extensions.Options.Options.Create(_f.Options), Microsoft.Extensions.Logging.Abstractions.NullLogger<EngineRegistry>.Instance);
        Assert.Equal(["web"], registry.AdoptExistingRegions());
        return registry;
    }
}
