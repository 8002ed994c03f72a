namespace OverlayKvm.HostDaemon.Store;

/// <summary>Where and as whom the embedded SQLite store lives (configuration section "Store").</summary>
public sealed class StoreOptions
{
    public const string SectionName = "Store";

    public const string DefaultPath = "/var/lib/overlaykvm/overlay.db";

    public const string SqliteKind = "sqlite";

    public const string EtcdKind = "etcd";

    /// <summary>
    /// Which store holds the deployment: <c>sqlite</c> (default: one host, the file at <see cref="Path"/>) or
    /// <c>etcd</c> (a cluster of hosts; see the "Etcd" section, docs/cluster.md).
    /// </summary>
    public string Kind { get; set; } = SqliteKind;

    /// <summary>Database file. Default <c>/var/lib/overlaykvm/overlay.db</c>; its directory is created with mode 0700.</summary>
    public string Path { get; set; } = DefaultPath;

    /// <summary>
    /// Name of this host: domains that apps reference before anyone declared them are placed here.
    /// Default: the machine name.
    /// </summary>
    public string LocalHost { get; set; } = Environment.MachineName;
}
