using System.Globalization;

namespace OverlayKvm.HostDaemon.Engine;

/// <summary>Looks a user up in /etc/passwd (getpwnam without its static buffer; NSS-only users are not found).</summary>
internal static class UnixAccounts
{
    public static bool TryResolve(string user, out uint uid, out uint gid, string passwdPath = "/etc/passwd")
    {
        uid = gid = 0;
        if (!File.Exists(passwdPath))
        {
            return false;
        }

        foreach (string line in File.ReadLines(passwdPath))
        {
            string[] fields = line.Split(':');
            if (fields.Length >= 4 && fields[0] == user &&
                uint.TryParse(fields[2], NumberStyles.None, CultureInfo.InvariantCulture, out uid) &&
                uint.TryParse(fields[3], NumberStyles.None, CultureInfo.InvariantCulture, out gid))
            {
                return true;
            }
        }

        return false;
    }
}
