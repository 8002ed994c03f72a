using System.Text.Json.Serialization;

namespace OverlayKvm.Core.Api;

/// <summary>Body of POST /v1/domains/{name}/attach.</summary>
public sealed record AttachRequest(
    [property: JsonPropertyName("group")] string? Group,
    [property: JsonPropertyName("app")] string? App);

/// <summary>What attach did to the persistent definition.</summary>
/// <param name="Active">The domain runs now: the devices take effect at its next start.</param>
public sealed record AttachResponse(
    [property: JsonPropertyName("domain")] string Domain,
    [property: JsonPropertyName("changed")] bool Changed,
    [property: JsonPropertyName("added")] IReadOnlyList<string> Added,
    [property: JsonPropertyName("present")] IReadOnlyList<string> Present,
    [property: JsonPropertyName("active")] bool Active);
