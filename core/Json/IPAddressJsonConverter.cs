using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;
using OverlayKvm.Core.Model.Validation;

namespace OverlayKvm.Core.Json;

/// <summary>IP addresses as their canonical text ("10.1.0.5", "fd00::5"); refuses anything else with the JSON path.</summary>
public sealed class IPAddressJsonConverter : JsonConverter<IPAddress>
{
    public override IPAddress Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            throw new JsonException($"address: expected a string such as 10.1.0.5, got {reader.TokenType}");
        }

        var text = reader.GetString();
        if (text is null || !AddressSpaceRules.TryParseAddress(text, out var address))
        {
            throw new JsonException($"'{text}' is not an IPv4 or IPv6 address");
        }

        return AddressMath.Canonical(address);
    }

    public override void Write(Utf8JsonWriter writer, IPAddress value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.ToString());
}
