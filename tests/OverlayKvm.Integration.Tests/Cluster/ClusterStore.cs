using OverlayKvm.Tests.Etcd;

namespace OverlayKvm.Integration.Tests.Cluster;

/// <summary>
/// The cluster's shared store for one test: a real 3-member etcd on loopback (ports 33379-33381, peers +100) and a
/// cluster key file (32 bytes, 0600). <see cref="DaemonArguments"/> are the switches every host's overlayd gets.
/// Members are killed by PID and the files removed on dispose, also after a failure.
/// </summary>
internal sealed class ClusterStore : IAsyncDisposable
{
    private const int FirstClientPort = 33379;

    private ClusterStore(EtcdCluster etcd, string directory)
    {
        Etcd = etcd;
        Directory = directory;
        KeyFile = Path.Combine(directory, "cluster.key");
        File.WriteAllBytes(KeyFile, System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        File.SetUnixFileMode(KeyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    public EtcdCluster Etcd { get; }

    public string Directory { get; }

    public string KeyFile { get; }

    public string[] DaemonArguments => ["--store", "etcd", "--etcd-endpoints", Etcd.Endpoints, "--cluster-key", KeyFile];

    public static Task<ClusterStore> StartAsync()
    {
        var directory = System.IO.Directory.CreateTempSubdirectory("okvm-cl-store-").FullName;
        try
        {
            // EtcdCluster names the missing etcd-server package itself (a prerequisite, never a silent pass).
            return Task.FromResult(new ClusterStore(new EtcdCluster(FirstClientPort), directory));
        }
        catch
        {
            System.IO.Directory.Delete(directory, recursive: true);
            throw;
        }
    }

    public ValueTask DisposeAsync()
    {
        Etcd.Dispose();
        System.IO.Directory.Delete(Directory, recursive: true);
        return ValueTask.CompletedTask;
    }
}
