using System.Text.Json.Serialization;

namespace OverlayKvm.HostDaemon.Libvirt;

/// <summary>Source-generated JSON for the hook protocol (no reflection: AOT-clean); the admin API's bodies are in core/Api.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(HookRequest))]
[JsonSerializable(typeof(HookResponse))]
internal sealed partial class LibvirtJsonContext : JsonSerializerContext;
