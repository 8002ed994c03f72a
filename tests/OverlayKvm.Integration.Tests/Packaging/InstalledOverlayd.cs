namespace OverlayKvm.Integration.Tests.Packaging;

/// <summary>The overlayd that the host package's postinst started on this systemd-less machine (by its pid file).</summary>
internal static class InstalledOverlayd
{
    public const string PidFile = "/run/overlaykvm/overlayd.pid";
    public const string Socket = "/run/overlaykvm/overlayd.sock";
    public const string Overlayctl = "/usr/bin/overlayctl";
    /// <summary>Where postinst's systemd-less start sends overlayd's output.</summary>
    public const string LogFile = "/var/log/overlaykvm/overlayd.log";

    /// <summary>The end of overlayd's log, for failure messages ("(no log)" when there is none).</summary>
    public static async Task<string> LogAsync()
    {
        if (!File.Exists(LogFile)) return $"--- {LogFile}: (no log) ---";
        var text = await File.ReadAllTextAsync(LogFile);
        return $"--- {LogFile} (end) ---\n" + (text.Length <= 4000 ? text : text[^4000..]);
    }

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
