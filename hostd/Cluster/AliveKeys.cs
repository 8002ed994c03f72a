using System.Text.Json.Serialization;

namespace OverlayKvm.HostDaemon.Cluster;

/// <summary>
/// <c>{prefix}alive/HOST</c>: one key per live host, attached to that host's etcd lease, so etcd itself deletes it
/// when the host stops renewing. The value says who registered (docs/cluster.md "Hosts and leases").
/// </summary>
internal static class AliveKeys
{
    public static string Prefix(string storePrefix) => (storePrefix.EndsWith('/') ? storePrefix : storePrefix + "/") + "alive/";

    public static string For(string storePrefix, string host) => Prefix(storePrefix) + host;
}

/// <param name="Since">When this registration (lease) began: a re-registration after expiry shows a new time.</param>
internal sealed record AliveRecord(string Host, string Address, int Capacity, DateTimeOffset Since, long Lease);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(AliveRecord))]
internal sealed partial class AliveJsonContext : JsonSerializerContext;
