using System.Net;
using System.Security.Cryptography;
using OverlayKvm.Core.Model;
using OverlayKvm.HostDaemon.Store.Etcd;

namespace OverlayKvm.HostDaemon.Tests.Store.Etcd;

/// <summary>The cluster-key rotation of docs/cluster.md, step by step, on a real etcd.</summary>
[Collection("etcd contract")]
public sealed class EtcdClusterKeyRotationTests(EtcdContractCluster etcd) : IDisposable
{
    private readonly EtcdStoreHarness _harness = new(etcd.Cluster);

    public void Dispose() => _harness.Dispose();

    [Fact]
    public void StartWithNewAndPrevious_ReSealsEverything_ThenNewKeyAloneOpens_OldKeyRefused()
    {
        var oldKey = ClusterKey.FromBytes(RandomNumberGenerator.GetBytes(32));
        var newKey = ClusterKey.FromBytes(RandomNumberGenerator.GetBytes(32));
        List<byte[]> before;
        using (var store = new EtcdOverlayStore(_harness.Options, new SecretSealer(oldKey), "host-a"))
        {
            store.DefineGroup("web", IPNetwork.Parse("10.1.0.0/16"), ProtectionLevel.Sealed);
            store.DefineGroup("db", IPNetwork.Parse("10.2.0.0/16"), ProtectionLevel.Sealed);
            store.RotateCredentials("web", TimeSpan.FromMinutes(5));
            before = [.. store.ReadSnapshot().Credentials.Values.SelectMany(c => c).Select(c => c.Key)];
        }

        Assert.Contains($"\"kid\":\"{oldKey.Id}\"", etcd.Cluster.Etcdctl("get", "--prefix", _harness.Prefix), StringComparison.Ordinal);

        using (var rotating = new EtcdOverlayStore(_harness.Options, new SecretSealer(newKey, oldKey), "host-a"))
        {
            Assert.Equal(3, rotating.CurrentVersion());
        }

        var dump = etcd.Cluster.Etcdctl("get", "--prefix", _harness.Prefix);
        Assert.DoesNotContain($"\"kid\":\"{oldKey.Id}\"", dump, StringComparison.Ordinal);
        Assert.Contains($"\"kid\":\"{newKey.Id}\"", dump, StringComparison.Ordinal);

        using (var rotated = new EtcdOverlayStore(_harness.Options, new SecretSealer(newKey), "host-a"))
        {
            Assert.Equal(before, rotated.ReadSnapshot().Credentials.Values.SelectMany(c => c).Select(c => c.Key));
            Assert.Equal(3, rotated.CurrentVersion());
        }

        var error = Assert.Throws<InvalidOperationException>(() => new EtcdOverlayStore(_harness.Options, new SecretSealer(oldKey), "host-a"));
        Assert.StartsWith("wrong cluster key: ", error.Message, StringComparison.Ordinal);
    }
}
