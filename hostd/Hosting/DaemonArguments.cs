namespace OverlayKvm.HostDaemon.Hosting;

/// <summary>
/// overlayd's command line: a fixed set of switches mapped onto the "Overlayd" configuration section. An
/// unknown switch is an error (a typo must not silently start a daemon on the default socket).
/// </summary>
internal static class DaemonArguments
{
    public const string Usage =
        "usage: overlayd [--socket PATH] [--state-dir DIR] [--channel-dir DIR] [--host-name NAME] [--host-address IP] [--host-capacity N]\n" +
        "                [--socket-mode 0660] [--metrics-listen PATH|ADDR:PORT] [--config FILE.json]\n" +
        "                [--store sqlite|etcd] [--etcd-endpoints URL,...] [--etcd-prefix /overlaykvm/] [--cluster-key FILE]\n" +
        "                [--cluster-key-previous FILE] [--etcd-cacert PEM] [--etcd-cert PEM --etcd-key PEM]\n" +
        "                [--etcd-user NAME --etcd-password-file FILE] [--etcd-timeout 00:00:03] [--lease-ttl SECONDS]\n" +
        "Settings may also come from the environment: OVERLAYKVM_OVERLAYD__SOCKET, OVERLAYKVM_OVERLAYD__STATEDIR, ...";

    public static readonly IReadOnlyDictionary<string, string> SwitchMappings = new Dictionary<string, string>
    {
        ["--socket"] = $"{DaemonOptions.Section}:Socket",
        ["--socket-mode"] = $"{DaemonOptions.Section}:SocketMode",
        ["--state-dir"] = $"{DaemonOptions.Section}:StateDir",
        ["--channel-dir"] = $"{DaemonOptions.Section}:ChannelDir",
        ["--host-name"] = $"{DaemonOptions.Section}:HostName",
        ["--host-address"] = $"{DaemonOptions.Section}:HostAddress",
        ["--host-capacity"] = $"{DaemonOptions.Section}:HostCapacity",
        ["--metrics-listen"] = $"{DaemonOptions.Section}:MetricsListen",
        ["--config"] = "ConfigFile",
        ["--store"] = "Store:Kind",
        ["--etcd-endpoints"] = "Etcd:Endpoints",
        ["--etcd-prefix"] = "Etcd:Prefix",
        ["--etcd-cacert"] = "Etcd:CaCertificate",
        ["--etcd-cert"] = "Etcd:ClientCertificate",
        ["--etcd-key"] = "Etcd:ClientKey",
        ["--etcd-user"] = "Etcd:User",
        ["--etcd-password-file"] = "Etcd:PasswordFile",
        ["--etcd-timeout"] = "Etcd:RequestTimeout",
        ["--cluster-key"] = "Etcd:ClusterKey",
        ["--cluster-key-previous"] = "Etcd:ClusterKeyPrevious",
        ["--lease-ttl"] = "Cluster:LeaseTtlSeconds",
    };

    /// <summary>Null when the arguments are acceptable; otherwise the one-line reason.</summary>
    public static string? Check(string[] args)
    {
        for (int i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            var key = arg.Contains('=') ? arg[..arg.IndexOf('=')] : arg;
            if (!SwitchMappings.ContainsKey(key)) return $"unknown argument '{arg}'";
            if (!arg.Contains('=') && (++i >= args.Length || args[i].StartsWith("--", StringComparison.Ordinal)))
                return $"{arg} needs a value";
        }
        return null;
    }
}
