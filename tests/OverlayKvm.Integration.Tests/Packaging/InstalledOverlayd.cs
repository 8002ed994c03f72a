namespace OverlayKvm.Integration.Tests.Packaging;

/// <summary>The overlayd that the host package's postinst started on this systemd-less machine (by its pid file).</summary>
internal static class InstalledOverlayd
{
    public const string PidFile = "/run/overlaykvm/overlayd.pid";
    public const string Socket = "/run/overlaykvm/overlayd.sock";
    public const string Overlayctl = "/usr/bin/overlayctl";

    /// <summary>The running overlayd's PID, or null when none runs under the pid file.</summary>
    public static int? Pid()
    {
        try
        {
            if (!int.TryParse(File.ReadAllText(PidFile).Trim(), out var pid)) return null;
            return File.ReadAllText($"/proc/{pid}/comm").Trim() == "overlayd"
                && !File.ReadAllText($"/proc/{pid}/stat").Contains(") Z ", StringComparison.Ordinal) ? pid : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    public static bool Running(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/comm").Trim() == "overlayd"
                && !File.ReadAllText($"/proc/{pid}/stat").Contains(") Z ", StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false;
        }
    }
}
