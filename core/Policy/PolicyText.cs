using System.Net;
using System.Text;
using OverlayKvm.Core.Model.Validation;
using OverlayKvm.Core.Store;

namespace OverlayKvm.Core.Policy;

/// <summary>
/// The text forms of policies shared by the API, the CLI, the store and the configuration document.
/// Senders: <c>any</c>, <c>group:G</c> (or a bare group name), <c>app:G/APP</c> (or <c>G/APP</c>),
/// <c>cidr:10.2.0.0/16</c> (or a bare CIDR or address); <c>not:</c> or <c>!</c> in front negates.
/// The canonical (printed and stored) form always carries the kind prefix.
/// </summary>
public static class PolicyText
{
    public const string NotPrefix = "not:";

    /// <summary>Parses one sender term; refusals name <paramref name="field"/> and show the accepted forms.</summary>
    public static PolicySender ParseSender(string field, string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new ModelValidationException(field, $"is empty; expected {SenderForms}");
        }

        var body = text.Trim();
        var negated = false;
        if (body.StartsWith(NotPrefix, StringComparison.OrdinalIgnoreCase))
        {
            negated = true;
            body = body[NotPrefix.Length..];
        }
        else if (body.StartsWith('!'))
        {
            negated = true;
            body = body[1..];
        }

        if (string.Equals(body, "any", StringComparison.OrdinalIgnoreCase))
        {
            return negated
                ? throw new ModelValidationException(field, $"'{text}' excludes every sender; remove the policy instead")
                : PolicySender.AnySender;
        }

        if (TryStrip(body, "group:", out var group))
        {
            NameRules.Check($"{field}: group", group);
            return PolicySender.OfGroup(group, negated);
        }

        if (TryStrip(body, "app:", out var app))
        {
            return ParseApp(field, text, app, negated);
        }

        if (TryStrip(body, "cidr:", out var cidr))
        {
            return PolicySender.OfCidr(ParseCidr(field, cidr), negated);
        }

        // Unprefixed: an address or CIDR first (it can contain '/'), then GROUP/APP, then a group name.
        var slash = body.IndexOf('/');
        if (AddressSpaceRules.TryParseAddress(slash < 0 ? body : body[..slash], out _))
        {
            return PolicySender.OfCidr(ParseCidr(field, body), negated);
        }

        if (slash >= 0)
        {
            return ParseApp(field, text, body, negated);
        }

        // "10.1" is a legal group name, but written bare it is far more likely a mistyped address.
        if (body.AsSpan().IndexOfAnyExcept("0123456789.:") < 0)
        {
            throw new ModelValidationException(field, $"'{Printable(text)}' looks like an incomplete address; write cidr:A.B.C.D/N, or group:{Printable(body)} for a group of that name");
        }

        if (!NameRules.IsValid(body))
        {
            throw new ModelValidationException(field, $"'{Printable(text)}' is not a sender; expected {SenderForms}");
        }

        return PolicySender.OfGroup(body, negated);
    }

    public const string SenderForms = "any, GROUP, GROUP/APP, an address or CIDR such as 10.2.0.0/16, or one of those after 'not:'";

    public static string FormatSender(PolicySender sender)
    {
        var body = sender.Kind switch
        {
            SenderKind.Any => "any",
            SenderKind.Group => $"group:{sender.Group}",
            SenderKind.App => $"app:{sender.Group}/{sender.App}",
            SenderKind.Cidr => $"cidr:{sender.Cidr}",
            _ => $"unknown:{(int)sender.Kind}",
        };
        return sender.Negated ? NotPrefix + body : body;
    }

    /// <summary>"10.2.0.0/16", "10.2.0.5" (= /32) or "fd00::/64": prefix 0 to the family's width, no host bits.</summary>
    public static IPNetwork ParseCidr(string field, string text)
    {
        var slash = text.IndexOf('/');
        var addressText = slash < 0 ? text : text[..slash];
        if (!AddressSpaceRules.TryParseAddress(addressText, out var address))
        {
            throw new ModelValidationException(field, $"'{Printable(text)}': '{Printable(addressText)}' is not an IPv4 or IPv6 address");
        }

        address = AddressMath.Canonical(address);
        var bits = AddressMath.AddressBits(address.AddressFamily);
        var prefix = bits;
        if (slash >= 0 && (!int.TryParse(text.AsSpan(slash + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out prefix) || prefix > bits))
        {
            throw new ModelValidationException(field, $"'{Printable(text)}': prefix length '{Printable(text[(slash + 1)..])}' is not a number from 0 to {bits}");
        }

        var network = new IPNetwork(Mask(address, prefix), prefix);
        if (!network.BaseAddress.Equals(address))
        {
            throw new ModelValidationException(field, $"'{Printable(text)}' has host bits set; did you mean {network}?");
        }

        return network;
    }

    public static PolicyProtocol ParseProtocol(string field, string? text) => text?.Trim().ToLowerInvariant() switch
    {
        null or "" or "any" => PolicyProtocol.Any,
        "tcp" => PolicyProtocol.Tcp,
        "udp" => PolicyProtocol.Udp,
        "icmp" => PolicyProtocol.Icmp,
        _ => throw new ModelValidationException(field, $"'{Printable(text!)}' is not one of tcp, udp, icmp, any"),
    };

    public static string FormatProtocol(PolicyProtocol protocol) => protocol switch
    {
        PolicyProtocol.Any => "any",
        PolicyProtocol.Tcp => "tcp",
        PolicyProtocol.Udp => "udp",
        PolicyProtocol.Icmp => "icmp",
        _ => ((int)protocol).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    public static PolicyVerdict ParseVerdict(string field, string? text) => text?.Trim().ToLowerInvariant() switch
    {
        null or "" or "allow" or "accept" => PolicyVerdict.Allow,
        "deny" or "refuse" => PolicyVerdict.Deny,
        _ => throw new ModelValidationException(field, $"'{Printable(text!)}' is not one of allow, deny"),
    };

    public static string FormatVerdict(PolicyVerdict verdict) => verdict == PolicyVerdict.Allow ? "allow" : "deny";

    /// <summary>"G3 accepts tcp/80 from group:G2" — one line for lists, logs and route explanations.</summary>
    public static string Describe(PolicyDefinition definition)
    {
        var text = new StringBuilder();
        text.Append(definition.DestinationGroup)
            .Append(definition.Verdict == PolicyVerdict.Allow ? " accepts " : " refuses ")
            .Append(FormatProtocol(definition.Protocol));
        if (definition.Ports is { } ports)
        {
            text.Append('/').Append(ports.ToString());
        }

        text.Append(" from ");
        for (var i = 0; i < definition.Senders.Count; i++)
        {
            text.Append(i == 0 ? "" : ", ").Append(FormatSender(definition.Senders[i]));
        }

        return text.ToString();
    }

    private static PolicySender ParseApp(string field, string text, string body, bool negated)
    {
        var slash = body.IndexOf('/');
        if (slash <= 0 || slash == body.Length - 1)
        {
            throw new ModelValidationException(field, $"'{Printable(text)}' is not GROUP/APP");
        }

        var group = body[..slash];
        var app = body[(slash + 1)..];
        NameRules.Check($"{field}: group", group);
        NameRules.Check($"{field}: app", app);
        return PolicySender.OfApp(group, app, negated);
    }

    private static bool TryStrip(string text, string prefix, out string rest)
    {
        if (text.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
        {
            rest = text[prefix.Length..];
            return true;
        }

        rest = "";
        return false;
    }

    private static IPAddress Mask(IPAddress address, int prefix)
    {
        var bits = AddressMath.AddressBits(address.AddressFamily);
        var hostBits = bits - prefix;
        var mask = hostBits >= 128 ? UInt128.Zero : ~((UInt128.One << hostBits) - 1);
        if (bits == 32)
        {
            mask &= uint.MaxValue;
        }

        return AddressMath.FromNumber(AddressMath.ToNumber(address) & mask, address.AddressFamily);
    }

    /// <summary>Hostile text must not reach a terminal or a log with control characters, nor at any length.</summary>
    public static string Printable(string text)
    {
        var clipped = text.Length > 80 ? text[..80] + "..." : text;
        var builder = new StringBuilder(clipped.Length);
        foreach (var c in clipped)
        {
            builder.Append(char.IsControl(c) ? '?' : c);
        }

        return builder.ToString();
    }
}
