using System.Text;
using OverlayKvm.Integration.Tests.Daemon;
using OverlayKvm.HostDaemon.Store.Etcd;
using OverlayKvm.Tests.Etcd;
using Xunit.Abstractions;

namespace OverlayKvm.Integration.Tests.Cluster;

/// <summary>
/// Issue 11, Show 5: group keys never sit in etcd in clear (an etcdctl dump holds neither the key bytes nor
/// their base64 or hex), and an overlayd with the wrong cluster key, or a key file others can read, refuses to
/// start with one clear line.
/// </summary>
public sealed class EtcdSecretsAtRestTests(ITestOutputHelper output)
{
    private const string Prefix = "/ek-secrets/";

    [Fact]
    public async Task EtcdDump_HoldsNoGroupKey_WrongClusterKey_OverlaydRefusesToStart()
    {
        using var etcd = new EtcdCluster(32385, members: 1);
        var keyDir = Directory.CreateTempSubdirectory("ek-key-").FullName;
        try
        {
            var clusterKey = EtcdDaemon.NewClusterKey(keyDir);
            await using (var daemon = EtcdDaemon.Start(etcd, clusterKey, Prefix))
            {
                await daemon.StartAsync();
                var ctl = new Overlayctl(daemon.Socket);
                await ctl.OkAsync("group-define", "web", "--cidr", "10.1.0.0/16");
                await ctl.OkAsync("group-define", "db", "--cidr", "10.2.0.0/16");
                await ctl.OkAsync("credentials-rotate", "web");
                await daemon.StopAsync();
            }

            // The keys as the store opens them with the cluster key: what must not appear in the dump.
            var keys = new List<byte[]>();
            using (var store = new EtcdOverlayStore(new EtcdStoreOptions { Endpoints = etcd.Endpoints, Prefix = Prefix, ClusterKey = clusterKey }, "reader"))
            {
                foreach (var group in new[] { "web", "db" })
                {
                    keys.AddRange(store.GetCredentials(group).Select(c => c.Key));
                }
            }

            Assert.Equal(3, keys.Count);
            var dump = etcd.Etcdctl("get", "--prefix", Prefix);
            var json = etcd.Etcdctl("get", "--prefix", Prefix, "--write-out=json");
            output.WriteLine(dump);
            Assert.Contains($"{Prefix}keys/web/2", dump, StringComparison.Ordinal);
            var dumpBytes = Encoding.Latin1.GetBytes(dump);
            foreach (var key in keys)
            {
                Assert.True(dumpBytes.AsSpan().IndexOf(key) < 0, "raw group key bytes in the etcd dump");
                foreach (var text in new[] { Convert.ToBase64String(key), Convert.ToHexString(key), Convert.ToHexStringLower(key) })
                {
                    Assert.DoesNotContain(text, dump, StringComparison.Ordinal);
                    Assert.DoesNotContain(text, json, StringComparison.Ordinal);
                    Assert.DoesNotContain(Convert.ToBase64String(Encoding.ASCII.GetBytes(text)), json, StringComparison.Ordinal);
                }
            }

            // Another cluster key: overlayd refuses to start, one clear line, non-zero exit.
            var wrongKey = EtcdDaemon.NewClusterKey(keyDir, "wrong.key");
            await using (var wrong = EtcdDaemon.Start(etcd, wrongKey, Prefix))
            {
                var result = await RefusedStartAsync(wrong, "wrong key");
                Assert.Contains("overlayd: cannot start: wrong cluster key: ", result.Stderr, StringComparison.Ordinal);
            }

            // A key file others can read: refused before anything is read from etcd.
            File.SetUnixFileMode(clusterKey, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
            await using (var loose = EtcdDaemon.Start(etcd, clusterKey, Prefix))
            {
                var result = await RefusedStartAsync(loose, "mode 0604");
                Assert.Contains("must be 0600", result.Stderr, StringComparison.Ordinal);
            }
        }
        finally
        {
            Directory.Delete(keyDir, recursive: true);
        }
    }

    /// <summary>Runs overlayd in the foreground with <paramref name="daemon"/>'s settings; it must refuse to start (non-zero exit).</summary>
    private async Task<ProcessResult> RefusedStartAsync(DaemonProcess daemon, string label)
    {
        var result = await ProcessResult.RunAsync(ProductBinaries.Overlayd,
            ["--socket", daemon.Socket, "--state-dir", daemon.StateDir, "--channel-dir", daemon.ChannelDir, "--host-name", "testhost", "--host-address", "192.0.2.1", .. daemon.ExtraArguments],
            timeout: TimeSpan.FromSeconds(90));
        output.WriteLine($"{label}: {result}");
        Assert.NotEqual(0, result.ExitCode);
        return result;
    }
}
