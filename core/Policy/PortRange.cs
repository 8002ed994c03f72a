using System.Globalization;
using OverlayKvm.Core.Store;

namespace OverlayKvm.Core.Policy;

/// <summary>An inclusive range of TCP/UDP ports, 1–65535 ("80" is 80-80).</summary>
public readonly record struct PortRange(ushort First, ushort Last)
{
    public bool Contains(ushort port) => port >= First && port <= Last;

    public override string ToString() => First == Last
        ? First.ToString(CultureInfo.InvariantCulture)
        : $"{First.ToString(CultureInfo.InvariantCulture)}-{Last.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>Parses "80" or "8000-8080"; every refusal names <paramref name="field"/> and what was wrong.</summary>
    public static PortRange Parse(string field, string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new ModelValidationException(field, "is empty; expected a port such as 80 or a range such as 8000-8080");
        }

        var dash = text.IndexOf('-');
        var first = ParsePort(field, text, dash < 0 ? text : text[..dash]);
        var last = dash < 0 ? first : ParsePort(field, text, text[(dash + 1)..]);
        if (first > last)
        {
            throw new ModelValidationException(field, $"'{text}': the range is reversed (first port {first} is above last port {last})");
        }

        return new PortRange(first, last);
    }

    private static ushort ParsePort(string field, string whole, string part)
    {
        if (!ushort.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port == 0)
        {
            throw new ModelValidationException(field, $"'{whole}': '{part}' is not a port from 1 to 65535");
        }

        return port;
    }
}
