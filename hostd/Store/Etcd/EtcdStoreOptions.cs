namespace OverlayKvm.HostDaemon.Store.Etcd;

/// <summary>How overlayd reaches the etcd cluster that holds the store (configuration section "Etcd").</summary>
public sealed class EtcdStoreOptions
{
    public const string SectionName = "Etcd";

    /// <summary>Client URLs, comma-separated (<c>http://10.0.0.1:2379,http://10.0.0.2:2379</c>). Required.</summary>
    public string Endpoints { get; set; } = "";

    /// <summary>Every key of this deployment lives under it. Default <c>/overlaykvm/</c>.</summary>
    public string Prefix { get; set; } = EtcdKeys.DefaultPrefix;

    /// <summary>CA bundle (PEM) that signs the etcd servers' certificates; with https endpoints. Optional.</summary>
    public string? CaCertificate { get; set; }

    /// <summary>Client certificate and its key (PEM) when etcd asks for client certificates. Both or neither.</summary>
    public string? ClientCertificate { get; set; }

    public string? ClientKey { get; set; }

    /// <summary>etcd user (role-based access); its password is read from <see cref="PasswordFile"/>, never the command line.</summary>
    public string? User { get; set; }

    public string? PasswordFile { get; set; }

    /// <summary>The 32-byte, 0600 file that seals group keys at rest. Required: no group key reaches etcd in clear.</summary>
    public string ClusterKey { get; set; } = "";

    /// <summary>During a cluster-key rotation: the key the cluster used before; values sealed by it are re-sealed at start.</summary>
    public string? ClusterKeyPrevious { get; set; }

    /// <summary>
    /// How long one etcd request may take before the store reports itself unavailable. Default 3 s: long enough
    /// for a leader election among healthy members, short enough that a CLI user gets an answer, not a hang.
    /// </summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>How often the daemon checks that etcd answers (the "may be stale" marker on reads). Default 1 s.</summary>
    public TimeSpan ProbeInterval { get; set; } = TimeSpan.FromSeconds(1);

    public IReadOnlyList<Uri> EndpointUris()
    {
        var list = new List<Uri>();
        foreach (var part in Endpoints.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (Uri.TryCreate(part, UriKind.Absolute, out var uri))
            {
                list.Add(uri);
            }
        }

        return list;
    }
}
