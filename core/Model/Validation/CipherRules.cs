using OverlayKvm.Core.Store;

namespace OverlayKvm.Core.Model.Validation;

/// <summary>Checks a group's cipher when the group is defined (issue 16). Pure apart from the CPU query, which callers can replace.</summary>
public static class CipherRules
{
    /// <param name="cpuSupports">Whether this CPU runs the cipher well (<see cref="GroupCiphers.HostSupports"/>); tests pass their own.</param>
    public static void Check(string group, GroupCipher cipher, Func<GroupCipher, bool>? cpuSupports = null)
    {
        if (!Enum.IsDefined(cipher))
        {
            throw new ModelValidationException($"group {group}: cipher", $"{(int)cipher} is not a known cipher ({GroupCiphers.Known})");
        }
        if (!(cpuSupports ?? GroupCiphers.HostSupports)(cipher))
        {
            throw new ModelValidationException($"group {group}: cipher",
                $"{GroupCiphers.Name(cipher)} needs AES-NI, which this host's CPU lacks (/proc/cpuinfo flag 'aes'); use {GroupCiphers.ChaCha20Poly1305Name}");
        }
    }

    /// <summary>Parses a cipher name from the API or CLI; refuses an unknown one naming the choices.</summary>
    public static GroupCipher Parse(string group, string? text) =>
        GroupCiphers.TryParse(text, out var cipher)
            ? cipher
            : throw new ModelValidationException($"group {group}: cipher", $"'{text}' is not one of {GroupCiphers.Known}");
}
