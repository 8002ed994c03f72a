namespace OverlayKvm.HostDaemon.Libvirt;

/// <summary>
/// Group and app names end up in host paths (/dev/shm/overlaykvm-GROUP) and QEMU ids, so they are restricted
/// to a conservative set rather than escaped.
/// </summary>
internal static class OverlayNames
{
    public const string Rule = "1-48 characters: letters, digits, '-', '_', '.', starting with a letter or digit";

    public static bool IsValid(string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > 48 || !char.IsAsciiLetterOrDigit(name[0]))
        {
            return false;
        }
        foreach (char c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '-' && c != '_' && c != '.')
            {
                return false;
            }
        }
        return true;
    }
}
