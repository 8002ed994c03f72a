using System.Text.Json.Serialization;
using OverlayKvm.Core.Config;
using OverlayKvm.Core.Model;

namespace OverlayKvm.Core.Json;

/// <summary>
/// Source-generated (AOT-clean) JSON for the configuration document the agent receives and for the model
/// records the admin API returns. camelCase; enums as strings; addresses as text. Compact output: the
/// document digest is computed over exactly these bytes (<see cref="Config.DomainConfigDigest"/>).
/// <see cref="GroupCredential"/> is deliberately absent: key material leaves the store only inside a
/// <see cref="CredentialConfig"/>, where redaction is explicit.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    UseStringEnumConverter = true,
    WriteIndented = false,
    Converters = [typeof(IPAddressJsonConverter), typeof(IPNetworkJsonConverter)])]
[JsonSerializable(typeof(DomainConfigDocument))]
[JsonSerializable(typeof(DataObject))]
[JsonSerializable(typeof(List<DataObject>))]
[JsonSerializable(typeof(IReadOnlyList<DataObject>))]
[JsonSerializable(typeof(Application))]
[JsonSerializable(typeof(List<Application>))]
[JsonSerializable(typeof(ApplicationGroup))]
[JsonSerializable(typeof(List<ApplicationGroup>))]
[JsonSerializable(typeof(DomainRecord))]
[JsonSerializable(typeof(List<DomainRecord>))]
[JsonSerializable(typeof(HostRecord))]
[JsonSerializable(typeof(List<HostRecord>))]
public sealed partial class OverlayJsonContext : JsonSerializerContext;
