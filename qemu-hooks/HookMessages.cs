using System.Text.Encodings.Web;
using System.Text.Json;

namespace OverlayKvm.QemuHook;

/// <summary>POST /v1/hooks/qemu body; the same field names overlayd's HookRequest binds.</summary>
internal sealed record HookRequest(string Domain, string Operation, string SubOperation, string Extra, string Xml)
{
    /// <summary>
    /// The JSON body, written with Utf8JsonWriter rather than the serializer: five strings do not need its metadata
    /// and converters, and every type linked into the hook costs start-up time on every libvirt operation.
    /// Relaxed escaping (&lt;, &gt;, &amp;, ' as themselves, not \u003C): at most two bytes per character, so any
    /// XML within <see cref="OverlayKvm.Core.Libvirt.DomainXmlLimit.MaxXmlBytes"/> fits overlayd's hook body limit.
    /// The body goes over a local socket to a JSON parser, never into HTML.
    /// </summary>
    public byte[] ToJson()
    {
        var output = new MemoryStream(Xml.Length + 256);
        using (var writer = new Utf8JsonWriter(output, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            writer.WriteString("domain", Domain);
            writer.WriteString("operation", Operation);
            writer.WriteString("subOperation", SubOperation);
            writer.WriteString("extra", Extra);
            writer.WriteString("xml", Xml);
            writer.WriteEndObject();
        }
        return output.ToArray();
    }
}

/// <summary>overlayd's verdict: <c>{"allow":bool,"reason":string|null}</c>.</summary>
internal sealed record HookResponse(bool Allow, string? Reason)
{
    /// <summary>Reads the verdict from a JSON object; property names as overlayd writes them (camelCase), others ignored.</summary>
    /// <exception cref="JsonException">Not a JSON object with a boolean "allow".</exception>
    public static HookResponse Parse(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("the verdict is not a JSON object");
        }
        bool? allow = null;
        string? reason = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool isAllow = reader.ValueTextEquals("allow"u8);
            bool isReason = reader.ValueTextEquals("reason"u8);
            reader.Read();
            if (isAllow)
            {
                allow = reader.TokenType switch
                {
                    JsonTokenType.True => true,
                    JsonTokenType.False => false,
                    _ => throw new JsonException("\"allow\" is not a boolean"),
                };
            }
            else if (isReason)
            {
                reason = reader.TokenType switch
                {
                    JsonTokenType.Null => null,
                    JsonTokenType.String => reader.GetString(),
                    _ => throw new JsonException("\"reason\" is not a string"),
                };
            }
            else
            {
                reader.Skip();
            }
        }
        if (reader.TokenType != JsonTokenType.EndObject)
        {
            throw new JsonException("the verdict object is not closed");
        }
        return new HookResponse(allow ?? throw new JsonException("the verdict has no \"allow\""), reason);
    }
}
