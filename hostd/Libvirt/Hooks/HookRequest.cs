using System.Text.Json.Serialization;

namespace OverlayKvm.HostDaemon.Libvirt;

/// <summary>What overlay-hook forwards: its argv (DOMAIN OP SUBOP EXTRA) and the domain XML from stdin.</summary>
public sealed record HookRequest(
    [property: JsonPropertyName("domain")] string? Domain,
    [property: JsonPropertyName("operation")] string? Operation,
    [property: JsonPropertyName("subOperation")] string? SubOperation,
    [property: JsonPropertyName("extra")] string? Extra,
    [property: JsonPropertyName("xml")] string? Xml);

/// <summary>overlayd's verdict. <see cref="Reason"/> is printed by the hook to stderr, which virsh shows.</summary>
public sealed record HookResponse(
    [property: JsonPropertyName("allow")] bool Allow,
    [property: JsonPropertyName("reason")] string? Reason);
