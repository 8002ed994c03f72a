using System.Net;
using System.Net.Sockets;
using OverlayKvm.Core.Store;

namespace OverlayKvm.Core.Model.Validation;

/// <summary>Parsing and checking of group address spaces and app addresses (R0.3). Pure: the API uses it for early 400s.</summary>
public static class AddressSpaceRules
{
    /// <summary>Smallest spaces that still hold two apps besides the reserved addresses.</summary>
    public const int MaxIPv4Prefix = 30;
    public const int MaxIPv6Prefix = 126;

    /// <summary>Parses "10.1.0.0/16" or "fd00:1::/64"; every refusal says what was wrong and, for host bits, what was meant.</summary>
    /// <param name="field">Names the entity and field, e.g. "group web: address space".</param>
    public static IPNetwork ParseSpace(string field, string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new ModelValidationException(field, "is empty; expected CIDR notation such as 10.1.0.0/16");
        }

        var slash = text.IndexOf('/');
        if (slash < 0)
        {
            throw new ModelValidationException(field, $"'{text}' has no prefix length; expected CIDR notation such as 10.1.0.0/16");
        }

        if (!TryParseAddress(text.AsSpan(0, slash), out var address))
        {
            throw new ModelValidationException(field, $"'{text}': '{text[..slash]}' is not an IPv4 or IPv6 address");
        }

        var bits = AddressMath.AddressBits(address.AddressFamily);
        var prefixText = text.AsSpan(slash + 1);
        if (!int.TryParse(prefixText, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var prefix)
            || prefix > bits)
        {
            throw new ModelValidationException(field, $"'{text}': prefix length '{prefixText}' is not a number from 0 to {bits}");
        }

        var network = new IPNetwork(MaskBase(address, prefix), prefix);
        if (!network.BaseAddress.Equals(address))
        {
            throw new ModelValidationException(field, $"'{text}' has host bits set; did you mean {network}?");
        }

        CheckSpace(field, network);
        return network;
    }

    /// <summary>Checks a space built in code (not parsed): family, host bits, size.</summary>
    public static void CheckSpace(string field, IPNetwork space)
    {
        var family = space.BaseAddress.AddressFamily;
        if (family is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6))
        {
            throw new ModelValidationException(field, $"{space} is neither IPv4 nor IPv6");
        }

        if (!MaskBase(space.BaseAddress, space.PrefixLength).Equals(space.BaseAddress))
        {
            throw new ModelValidationException(field, $"{space} has host bits set");
        }

        if (space.PrefixLength == 0)
        {
            throw new ModelValidationException(field, $"{space} covers every address; a group needs a space of its own (e.g. 10.1.0.0/16)");
        }

        var max = family == AddressFamily.InterNetwork ? MaxIPv4Prefix : MaxIPv6Prefix;
        if (space.PrefixLength > max)
        {
            throw new ModelValidationException(field, $"{space} is too small for applications (longest allowed prefix is /{max})");
        }
    }

    /// <summary>Parses one address (IPv4 or IPv6, no zone id), canonicalized.</summary>
    public static IPAddress ParseAddress(string field, string? text)
    {
        if (!TryParseAddress(text, out var address))
        {
            throw new ModelValidationException(field, $"'{text}' is not an IPv4 or IPv6 address");
        }

        return AddressMath.Canonical(address);
    }

    /// <summary>
    /// Strict parsing: IPv4 only as a dotted quad of decimals and IPv6 without a zone. The BCL also accepts
    /// inet_aton's legacy forms, where "10.1" means 10.0.0.1 and "010.1.0.1" is octal: an operator who writes
    /// those almost certainly meant something else, so they are refused rather than guessed.
    /// </summary>
    public static bool TryParseAddress(ReadOnlySpan<char> text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out IPAddress? address)
    {
        address = null;
        if (text.IsEmpty || text.ContainsAny('%', '/') || !IPAddress.TryParse(text, out var parsed))
        {
            return false;
        }

        if (parsed.AddressFamily == AddressFamily.InterNetwork && !IsDottedQuad(text))
        {
            return false;
        }

        address = parsed;
        return true;
    }

    private static bool IsDottedQuad(ReadOnlySpan<char> text)
    {
        var parts = 0;
        foreach (var range in text.Split('.'))
        {
            var part = text[range];
            if (part.IsEmpty || part.Length > 3 || (part.Length > 1 && part[0] == '0'))
            {
                return false;
            }

            foreach (var c in part)
            {
                if (c is < '0' or > '9')
                {
                    return false;
                }
            }

            parts++;
        }

        return parts == 4;
    }

    /// <summary>
    /// An app address must lie in its group's space and must not be the space's network address (nor, for IPv4,
    /// its broadcast address; for IPv6 the all-zero host part is the subnet-router anycast address).
    /// </summary>
    /// <param name="app">"web/frontend": group and app name, for the message.</param>
    public static void CheckAppAddress(string app, string group, IPNetwork space, IPAddress address)
    {
        var field = $"app {app}: address";
        if (address.AddressFamily != space.BaseAddress.AddressFamily || !space.Contains(address))
        {
            throw new ModelValidationException(field, $"{address} is outside group {group}'s space {space}");
        }

        var (first, last) = AddressMath.Bounds(space);
        var value = AddressMath.ToNumber(address);
        if (value == first)
        {
            throw new ModelValidationException(field, $"{address} is the network address of group {group}'s space {space}");
        }

        if (address.AddressFamily == AddressFamily.InterNetwork && value == last)
        {
            throw new ModelValidationException(field, $"{address} is the broadcast address of group {group}'s space {space}");
        }
    }

    /// <summary>Refuses a new space that overlaps any existing group's space.</summary>
    public static void CheckNoOverlap(string group, IPNetwork space, IEnumerable<ApplicationGroup> existing)
    {
        foreach (var other in existing)
        {
            if (!string.Equals(other.Name, group, StringComparison.Ordinal) && AddressMath.Overlaps(space, other.AddressSpace))
            {
                throw new ModelValidationException($"group {group}: address space", $"{space} overlaps group {other.Name}'s space {other.AddressSpace}") { IsConflict = true };
            }
        }
    }

    private static IPAddress MaskBase(IPAddress address, int prefix)
    {
        var bits = AddressMath.AddressBits(address.AddressFamily);
        var hostBits = bits - prefix;
        var mask = hostBits == 128 ? UInt128.Zero : ~((UInt128.One << hostBits) - 1);
        if (bits == 32)
        {
            mask &= uint.MaxValue;
        }

        return AddressMath.FromNumber(AddressMath.ToNumber(address) & mask, address.AddressFamily);
    }
}
