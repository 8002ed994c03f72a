using System.Net;
using System.Net.Http.Headers;
using OverlayKvm.Fuzz.Fixtures;

namespace OverlayKvm.Fuzz.Targets;

/// <summary>
/// Request bodies of overlayd's admin API (anyone in the socket's group, and the hook forwarding a domain definer's
/// XML): deserialization by the endpoints' JSON binding, then the model's validation and the store. The first input
/// byte picks the endpoint (<see cref="Routes"/>), the rest is the JSON body. Finding, besides any exception: a 500
/// answer (ApiErrors turns every expected refusal into 400/403/404/409; 500 means an exception nobody classified).
/// Nothing is a rejection.
/// </summary>
internal sealed class ApiJsonTarget : FuzzTarget
{
    /// <summary>Every endpoint that reads a request body.</summary>
    public static readonly string[] Routes =
    [
        "/v1/groups",
        "/v1/apps",
        "/v1/domains",
        "/v1/groups/web/credentials/rotate",
        "/v1/groups/web/protection",
        "/v1/policies",
        "/v1/groups/web/parent",
        "/v1/hooks/qemu",
    ];

    private static readonly MediaTypeHeaderValue Json = new("application/json");
    private readonly InMemoryApi _api = new();

    public override string Name => "api-json";

    protected override void Execute(ReadOnlySpan<byte> input)
    {
        if (input.IsEmpty)
        {
            return;
        }
        string route = Routes[input[0] % Routes.Length];
        using var content = new ByteArrayContent(input.Slice(1).ToArray());
        content.Headers.ContentType = Json;
        using HttpResponseMessage response = _api.Client.PostAsync(route, content).GetAwaiter().GetResult();
        if (response.StatusCode == HttpStatusCode.InternalServerError)
        {
            throw new InvalidOperationException($"api-json: POST {route} answered 500: {response.Content.ReadAsStringAsync().GetAwaiter().GetResult()}");
        }
    }

    public override void Dispose() => _api.Dispose();
}
