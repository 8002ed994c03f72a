using System.Security.Cryptography;
using OverlayKvm.Integration.Tests.Daemon;
using OverlayKvm.Tests.Etcd;

namespace OverlayKvm.Integration.Tests.Cluster;

/// <summary>overlayd on an etcd cluster: its cluster-key file (32 bytes, 0600) and the switches that select the etcd store.</summary>
internal static class EtcdDaemon
{
    /// <summary>Writes a fresh cluster key into <paramref name="directory"/> with mode 0600 and returns its path.</summary>
    public static string NewClusterKey(string directory, string name = "cluster.key")
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, name);
        File.WriteAllBytes(path, RandomNumberGenerator.GetBytes(32));
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return path;
    }

    public static string[] Arguments(EtcdCluster etcd, string clusterKey, string prefix) =>
        ["--store", "etcd", "--etcd-endpoints", etcd.Endpoints, "--etcd-prefix", prefix, "--cluster-key", clusterKey, "--etcd-timeout", "00:00:02"];

    public static DaemonProcess Start(EtcdCluster etcd, string clusterKey, string prefix) =>
        new() { ExtraArguments = Arguments(etcd, clusterKey, prefix) };
}
