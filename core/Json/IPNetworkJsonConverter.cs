using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;
using OverlayKvm.Core.Model.Validation;
using OverlayKvm.Core.Store;

namespace OverlayKvm.Core.Json;

/// <summary>Address spaces as CIDR text ("10.1.0.0/16"), parsed with the same rules (and messages) as the store.</summary>
public sealed class IPNetworkJsonConverter : JsonConverter<IPNetwork>
{
    public override IPNetwork Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            throw new JsonException($"address space: expected a string in CIDR notation such as 10.1.0.0/16, got {reader.TokenType}");
        }

        var text = reader.GetString();
        try
        {
            return AddressSpaceRules.ParseSpace("address space", text);
        }
        catch (ModelValidationException e)
        {
            throw new JsonException(e.Message, e);
        }
    }

    public override void Write(Utf8JsonWriter writer, IPNetwork value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.ToString());
}
