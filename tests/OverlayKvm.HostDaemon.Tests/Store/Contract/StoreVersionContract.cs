using OverlayKvm.Core.Store;
using System.Collections.Concurrent;
using System.Net;
using OverlayKvm.Core.Model;

namespace OverlayKvm.HostDaemon.Tests.Store.Contract;

public abstract class StoreVersionContract(IStoreHarness harness) : StoreContract(harness)
{
    [Fact]
    public void EveryChange_BumpsVersionByOne_StampsRows_RaisesChangedAfterCommit()
    {
        using var store = Harness.Open();
        var seen = new List<(long Event, long Stored)>();
        store.Changed += version => seen.Add((version, store.CurrentVersion()));
        var changes = new Action[]
        {
            () => store.DefineGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed),
            () => store.DefineApplication("web", "a", null, "vm1", []),
            () => store.DefineApplication("web", "b", null, "vm2", []),
            () => store.UpsertDomain("vm1", Guid.NewGuid(), "host-a", IPAddress.Parse("192.0.2.1")),
            () => store.UpsertHost("host-a", IPAddress.Parse("192.0.2.100"), 8),
            () => store.RotateCredentials("web", TimeSpan.FromMinutes(5)),
            () => store.UndefineApplication("web", "b"),
            () => store.UndefineApplication("web", "a"),
            () => store.UndefineGroup("web"),
        };

        for (var i = 0; i < changes.Length; i++)
        {
            changes[i]();
            Assert.Equal(i + 1, store.CurrentVersion());
        }

        Assert.Equal(Enumerable.Range(1, changes.Length).Select(v => ((long)v, (long)v)), seen);
        // Undefining an app stamps its domain: vm1 lost app a at version 8, vm2 lost app b at version 7.
        Assert.Equal(8, store.GetDomain("vm1")!.Version);
        Assert.Equal(7, store.GetDomain("vm2")!.Version);
    }

    [Fact]
    public void SetGroupProtection_ChangesLevelAndBumpsGroup_SameLevelIsNoChange()
    {
        using var store = Harness.Open();
        store.DefineGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed);

        var changed = store.SetGroupProtection("web", ProtectionLevel.Authenticated);
        var again = store.SetGroupProtection("web", ProtectionLevel.Authenticated);

        Assert.Equal(ProtectionLevel.Authenticated, store.GetGroup("web")!.Protection);
        Assert.Equal(2, changed.Version);
        Assert.Equal(2, again.Version);
        Assert.Equal(2, store.CurrentVersion());
        Assert.Throws<OverlayKvm.Core.Store.ModelValidationException>(() => store.SetGroupProtection("web", (ProtectionLevel)7));
        Assert.Throws<OverlayKvm.Core.Store.EntityNotFoundException>(() => store.SetGroupProtection("nope", ProtectionLevel.Sealed));
    }

    [Fact]
    public void IndexedLookups_ByAddressAndByDomain()
    {
        using var store = Harness.Open();
        store.DefineGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed);
        store.DefineGroup("db", IPNetwork.Parse("10.2.0.0/16"), ProtectionLevel.Sealed);
        store.DefineApplication("web", "b", null, "vm1", []);
        store.DefineApplication("web", "a", null, "vm2", []);
        store.DefineApplication("db", "z", null, "vm1", []);

        Assert.Equal("b", store.FindApplicationByAddress(IPAddress.Parse("10.1.0.1"))!.Name);
        Assert.Equal("b", store.FindApplicationByAddress(IPAddress.Parse("::ffff:10.1.0.1"))!.Name);
        Assert.Null(store.FindApplicationByAddress(IPAddress.Parse("10.1.0.9")));
        Assert.Equal([("db", "z"), ("web", "b")], store.ListApplicationsInDomain("vm1").Select(a => (a.Group, a.Name)));
        Assert.Empty(store.ListApplicationsInDomain("nowhere"));
    }

    [Fact]
    public void UpsertDomain_Unchanged_CommitsNothing()
    {
        using var store = Harness.Open();
        var uuid = Guid.NewGuid();
        store.UpsertDomain("vm1", uuid, "host-a", IPAddress.Parse("192.0.2.1"));
        var events = 0;
        store.Changed += _ => events++;

        var again = store.UpsertDomain("vm1", uuid, "host-a", IPAddress.Parse("192.0.2.1"));

        Assert.Equal(1, store.CurrentVersion());
        Assert.Equal(1, again.Version);
        Assert.Equal(0, events);
    }

    [Fact]
    public void SetDomainStopped_RaisesDomainVersion_SurvivesUpsert_SameStateCommitsNothing()
    {
        using var store = Harness.Open();
        var uuid = Guid.NewGuid();
        store.UpsertDomain("vm1", uuid, "host-a", IPAddress.Parse("192.0.2.1"));

        var stopped = store.SetDomainStopped("vm1", true);
        var again = store.SetDomainStopped("vm1", true);
        // Migration moves a stopped record's host: the run state stays until the destination says it started.
        var moved = store.UpsertDomain("vm1", uuid, "host-b", IPAddress.Parse("192.0.2.1"));
        var running = store.SetDomainStopped("vm1", false);

        Assert.True(stopped.Stopped);
        Assert.Equal(2, stopped.Version);
        Assert.Equal(2, again.Version);
        Assert.True(moved.Stopped);
        Assert.Equal("host-b", moved.Host);
        Assert.False(running.Stopped);
        Assert.Equal(4, running.Version);
        Assert.Equal(4, store.CurrentVersion());
        Assert.Equal(running, store.GetDomain("vm1"));
        Assert.Equal([running], store.ListDomains());
        Assert.Throws<EntityNotFoundException>(() => store.SetDomainStopped("vm9", true));
    }

    [Fact]
    public void DefineApplication_UnknownDomain_CreatedOnLocalHost()
    {
        using var store = Harness.Open();
        store.DefineGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed);

        store.DefineApplication("web", "a", null, "vm9", []);

        var domain = store.GetDomain("vm9");
        Assert.NotNull(domain);
        Assert.Equal("host-a", domain.Host);
        Assert.Null(domain.Address);
        Assert.Null(domain.Uuid);
        Assert.Equal(2, domain.Version);
    }

    [Fact]
    public void ChangedHandlerThrows_ChangeStaysCommitted_OtherHandlersRun()
    {
        using var store = Harness.Open();
        var heard = 0L;
        store.Changed += _ => throw new InvalidOperationException("subscriber bug");
        store.Changed += version => heard = version;

        store.DefineGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed);

        Assert.Equal(1, heard);
        Assert.NotNull(store.GetGroup("web"));
    }

    [Fact]
    public void ConcurrentAllocatingDefines_8x50_AllDistinctNoneLost()
    {
        using var store = Harness.Open();
        store.DefineGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed);
        var returned = new ConcurrentBag<Application>();
        var versions = new ConcurrentBag<long>();
        store.Changed += versions.Add;
        using var start = new Barrier(8);

        RunThreads(8, t =>
        {
            start.SignalAndWait();
            for (var i = 0; i < 50; i++)
            {
                returned.Add(store.DefineApplication("web", $"t{t}-a{i}", null, $"vm{t}", []));
            }
        });

        var stored = store.ListApplications("web");
        Assert.Equal(400, returned.Count);
        Assert.Equal(400, stored.Count);
        Assert.Equal(400, stored.Select(a => a.Address).Distinct().Count());
        Assert.Equal(
            returned.Select(a => (a.Name, a.Address.ToString())).OrderBy(x => x.Name, StringComparer.Ordinal),
            stored.Select(a => (a.Name, a.Address.ToString())).OrderBy(x => x.Name, StringComparer.Ordinal));
        // Lowest-free allocation with no gaps: exactly 10.1.0.1 .. 10.1.1.144.
        var expected = Enumerable.Range(1, 400).Select(i => $"10.1.{i / 256}.{i % 256}").ToHashSet();
        Assert.True(expected.SetEquals(stored.Select(a => a.Address.ToString())), "addresses are not exactly the 400 lowest");
        Assert.Equal(401, store.CurrentVersion());
        Assert.Equal(Enumerable.Range(2, 400).Select(v => (long)v), versions.OrderBy(v => v));
    }

    /// <summary>Two store instances on one state (as two daemons would be) serialize (SQLite: BEGIN IMMEDIATE; etcd: the Txn compare).</summary>
    [Fact]
    public void ConcurrentDefinesThroughTwoInstances_AllDistinct_VersionCountsEveryChange()
    {
        using var first = Harness.Open();
        using var second = Harness.Open();
        first.DefineGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed);
        var stores = new[] { first, second };
        using var start = new Barrier(6);

        RunThreads(6, t =>
        {
            start.SignalAndWait();
            for (var i = 0; i < 25; i++)
            {
                stores[t % 2].DefineApplication("web", $"t{t}-a{i}", null, "vm1", []);
            }
        });

        Harness.WaitForVersion(first, 151);
        Harness.WaitForVersion(second, 151);
        var apps = second.ListApplications("web");
        Assert.Equal(150, apps.Count);
        Assert.Equal(150, apps.Select(a => a.Address).Distinct().Count());
        Assert.Equal(150, apps.Select(a => a.Version).Distinct().Count());
        Assert.Equal(151, first.CurrentVersion());
    }

    /// <summary>Dedicated threads (the pool would ramp up too slowly for a barrier); any thread's exception fails the test.</summary>
    private static void RunThreads(int count, Action<int> body)
    {
        var failures = new ConcurrentQueue<Exception>();
        var threads = Enumerable.Range(0, count).Select(t => new Thread(() =>
        {
            try
            {
                body(t);
            }
            catch (Exception e)
            {
                failures.Enqueue(e);
            }
        })).ToList();
        threads.ForEach(thread => thread.Start());
        threads.ForEach(thread => thread.Join());
        Assert.Empty(failures);
    }
}
