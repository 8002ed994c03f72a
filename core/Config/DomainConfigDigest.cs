using System.Security.Cryptography;
using System.Text.Json;
using OverlayKvm.Core.Json;

namespace OverlayKvm.Core.Config;

/// <summary>
/// The document's digest: SHA-256 (lower-case hex) of its compact camelCase JSON (<see cref="OverlayJsonContext"/>)
/// with <c>digest</c> set to "". Agents compare digests to skip pushes that change nothing.
/// </summary>
public static class DomainConfigDigest
{
    public static string Compute(DomainConfigDocument document)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(document with { Digest = "" }, OverlayJsonContext.Default.DomainConfigDocument);
        return Convert.ToHexStringLower(SHA256.HashData(bytes));
    }

    public static DomainConfigDocument WithDigest(DomainConfigDocument document) => document with { Digest = Compute(document) };

    /// <summary>True when the document's digest matches its content (agent-side check).</summary>
    public static bool IsValid(DomainConfigDocument document)
    {
        var expected = Compute(document);
        return document.Digest.Length == expected.Length
            && CryptographicOperations.FixedTimeEquals(
                System.Text.Encoding.ASCII.GetBytes(document.Digest), System.Text.Encoding.ASCII.GetBytes(expected));
    }
}
