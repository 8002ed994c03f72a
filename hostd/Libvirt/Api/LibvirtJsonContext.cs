using System.Text.Json.Serialization;
using OverlayKvm.HostDaemon.Placement;

namespace OverlayKvm.HostDaemon.Libvirt;

/// <summary>Source-generated JSON for the libvirt endpoints (no reflection: AOT-clean).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(HookRequest))]
[JsonSerializable(typeof(HookResponse))]
[JsonSerializable(typeof(AttachRequest))]
[JsonSerializable(typeof(AttachResponse))]
[JsonSerializable(typeof(PlacementDecision))]
[JsonSerializable(typeof(ApiError))]
internal sealed partial class LibvirtJsonContext : JsonSerializerContext;
