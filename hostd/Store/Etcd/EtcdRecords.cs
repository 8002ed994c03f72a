using System.Text.Json.Serialization;

namespace OverlayKvm.HostDaemon.Store.Etcd;

// The JSON each etcd key holds (docs/cluster.md "Keys"). Addresses and spaces as text, times as Unix
// milliseconds, exactly what the SQLite store keeps, so both stores round-trip the same values.

internal sealed record MetaRecord(long Version, int NextGroupNumber, long NextPolicyId);

/// <param name="Cipher">Issue 16: <see cref="Core.Model.GroupCipher"/> (absent in older records: 0, ChaCha20-Poly1305).</param>
internal sealed record GroupRecordJson(string Name, string AddressSpace, int Protection, long Version, int Number, int Cipher = 0);

internal sealed record ApplicationRecordJson(string Group, string Name, string Address, string Domain, string Manifest, long Version);

/// <param name="AddressFromLibvirt">Issue 11: the address was learned from libvirt (absent in older records: the operator's).</param>
internal sealed record DomainRecordJson(string Name, Guid? Uuid, string Host, string? Address, long Version, bool Stopped = false, bool AddressFromLibvirt = false);

internal sealed record HostRecordJson(string Name, string Address, int Capacity, long Version);

/// <summary>Sealed as a whole (<see cref="SecretSealer"/>): key bytes and lifetime together.</summary>
internal sealed record CredentialRecordJson(string Group, int Epoch, byte[] Key, long CreatedAt, long? RetiresAt);

internal sealed record PolicyRecordJson(long Id, string Destination, string Senders, int Protocol, int? PortFirst, int? PortLast, int Verdict, long Version);

internal sealed record ParentRecordJson(string Group, string Parent, long Version);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(MetaRecord))]
[JsonSerializable(typeof(GroupRecordJson))]
[JsonSerializable(typeof(ApplicationRecordJson))]
[JsonSerializable(typeof(DomainRecordJson))]
[JsonSerializable(typeof(HostRecordJson))]
[JsonSerializable(typeof(CredentialRecordJson))]
[JsonSerializable(typeof(PolicyRecordJson))]
[JsonSerializable(typeof(ParentRecordJson))]
[JsonSerializable(typeof(SealedValue))]
internal sealed partial class EtcdJsonContext : JsonSerializerContext;
