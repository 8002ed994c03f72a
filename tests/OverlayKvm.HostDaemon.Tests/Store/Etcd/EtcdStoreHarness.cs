using OverlayKvm.Core.Store;
using OverlayKvm.HostDaemon.Store.Etcd;
using OverlayKvm.HostDaemon.Tests.Store.Contract;
using OverlayKvm.Tests.Etcd;
using Microsoft.Extensions.Time.Testing;
using OverlayKvm.TestSupport;

namespace OverlayKvm.HostDaemon.Tests.Store.Etcd;

/// <summary>One 3-member etcd cluster for every etcd contract test (clients 32379-32381); each test has its own prefix.</summary>
public sealed class EtcdContractCluster : IDisposable
{
    public EtcdContractCluster()
    {
        Cluster = new EtcdCluster(32379);
    }

    public EtcdCluster Cluster { get; }

    public void Dispose() => Cluster.Dispose();
}

[CollectionDefinition("etcd contract")]
public sealed class EtcdContractCollection : ICollectionFixture<EtcdContractCluster>;

/// <summary>The etcd store under a private prefix of the shared cluster; a fixed in-memory cluster key.</summary>
internal sealed class EtcdStoreHarness(EtcdCluster cluster) : IStoreHarness
{
    private readonly List<EtcdOverlayStore> _opened = [];
    private readonly SecretSealer _sealer = new(ClusterKey.FromBytes(System.Security.Cryptography.RandomNumberGenerator.GetBytes(ClusterKey.Size)));

    public string Prefix { get; } = $"/ek-test-{Guid.NewGuid():N}/";

    public FakeTimeProvider Time { get; } = TestClock.Create();

    public EtcdStoreOptions Options => new()
    {
        Endpoints = cluster.Endpoints,
        Prefix = Prefix,
        ClusterKey = "(in memory)",
        ProbeInterval = TimeSpan.FromMilliseconds(200),
    };

    public IOverlayStore Open()
    {
        var store = new EtcdOverlayStore(Options, _sealer, "host-a", Time);
        _opened.Add(store);
        return store;
    }

    public void WaitForVersion(IOverlayStore store, long version)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (store.CurrentVersion() < version && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(5);
        }

        Assert.True(store.CurrentVersion() >= version, $"the watch did not bring version {version} within 10 s (at {store.CurrentVersion()})");
    }

    public int CountStoredCredentials() =>
        cluster.Etcdctl("get", "--prefix", "--keys-only", Prefix + "keys/").Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;

    public void Dispose()
    {
        foreach (var store in _opened)
        {
            store.Dispose();
        }

        cluster.Etcdctl("del", "--prefix", Prefix);
    }
}
