namespace OverlayKvm.Core.Model;

/// <summary>
/// The AEAD that seals a group's frames on the network (issue 16). Chosen by the operator with the group's definition
/// and carried to every agent in the configuration document, never negotiated with a peer. The numeric value is the
/// sealed frame's cipher byte (docs/sealed-frame.md), so it must never be renumbered.
/// </summary>
public enum GroupCipher : byte
{
    /// <summary>ChaCha20-Poly1305 (RFC 8439), 16-byte tag: the default, fast on every CPU.</summary>
    ChaCha20Poly1305 = 0,

    /// <summary>AEGIS-256 (draft-irtf-cfrg-aegis-aead), 32-byte tag: several times faster where the CPU has AES-NI, slow without it.</summary>
    Aegis256 = 1,
}

/// <summary>The ciphers' spelling on the CLI, the API and in the configuration document.</summary>
public static class GroupCiphers
{
    public const string ChaCha20Poly1305Name = "chacha20-poly1305";
    public const string Aegis256Name = "aegis-256";

    /// <summary>For error messages: every name this build knows.</summary>
    public const string Known = ChaCha20Poly1305Name + ", " + Aegis256Name;

    public static string Name(GroupCipher cipher) => cipher switch
    {
        GroupCipher.ChaCha20Poly1305 => ChaCha20Poly1305Name,
        GroupCipher.Aegis256 => Aegis256Name,
        _ => ((int)cipher).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>Parses a name (case-insensitive); null or empty means the default. False for anything else.</summary>
    public static bool TryParse(string? text, out GroupCipher cipher)
    {
        cipher = GroupCipher.ChaCha20Poly1305;
        if (string.IsNullOrEmpty(text) || string.Equals(text, ChaCha20Poly1305Name, StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }
        if (string.Equals(text, Aegis256Name, StringComparison.OrdinalIgnoreCase))
        {
            cipher = GroupCipher.Aegis256;
            return true;
        }
        return false;
    }

    /// <summary>
    /// AEGIS-256 is offered only where the CPU has AES-NI: libsodium would otherwise run it in software, slower than
    /// ChaCha20-Poly1305, which defeats the point of choosing it.
    /// </summary>
    public static bool HostSupports(GroupCipher cipher) => cipher switch
    {
        GroupCipher.ChaCha20Poly1305 => true,
        GroupCipher.Aegis256 => System.Runtime.Intrinsics.X86.Aes.IsSupported,
        _ => false,
    };
}
