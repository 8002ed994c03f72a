using System.Text.Json.Serialization;

namespace OverlayKvm.QemuHook;

/// <summary>POST /v1/hooks/qemu body; the same field names overlayd's HookRequest binds.</summary>
internal sealed record HookRequest(
    [property: JsonPropertyName("domain")] string Domain,
    [property: JsonPropertyName("operation")] string Operation,
    [property: JsonPropertyName("subOperation")] string SubOperation,
    [property: JsonPropertyName("extra")] string Extra,
    [property: JsonPropertyName("xml")] string Xml);

internal sealed record HookResponse(
    [property: JsonPropertyName("allow")] bool Allow,
    [property: JsonPropertyName("reason")] string? Reason);

/// <summary>overlayd's error body on 4xx/5xx other than a verdict.</summary>
internal sealed record ApiError([property: JsonPropertyName("error")] string? Error);

[JsonSerializable(typeof(HookRequest))]
[JsonSerializable(typeof(HookResponse))]
[JsonSerializable(typeof(ApiError))]
internal sealed partial class HookJsonContext : JsonSerializerContext
{
    /// <summary>
    /// Writes the domain XML with relaxed escaping (&lt;, &gt;, &amp;, ' as themselves, not \u003C): at most two bytes
    /// per character, so any XML within <see cref="OverlayKvm.Core.Libvirt.DomainXmlLimit.MaxXmlBytes"/> fits overlayd's
    /// hook body limit. The body goes over a local socket to a JSON parser, never into HTML.
    /// </summary>
    public static HookJsonContext Relaxed { get; } = new(new System.Text.Json.JsonSerializerOptions
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
