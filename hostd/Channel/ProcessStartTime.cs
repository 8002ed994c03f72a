using System.Globalization;

namespace OverlayKvm.HostDaemon.Channel;

/// <summary>
/// When a process started, from procfs: field 22 of <c>/proc/PID/stat</c> (clock ticks since boot) plus the boot
/// time in <c>/proc/stat</c> (<c>btime</c>, whole seconds — so the result is good to about a second). Used to tell a
/// pid file's process from a later process that reused its pid.
/// </summary>
internal static class ProcessStartTime
{
    // USER_HZ: the unit of /proc/PID/stat times on every Linux ABI .NET runs on.
    private const double TicksPerSecond = 100;

    /// <summary>The start of <paramref name="pid"/>, or null if it is gone or procfs cannot be read.</summary>
    public static DateTimeOffset? Of(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
            // The command name (field 2) is in parentheses and may contain spaces or ')': fields after it start past the last ')'.
            int close = stat.LastIndexOf(')');
            if (close < 0)
            {
                return null;
            }

            string[] rest = stat[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            // rest[0] is field 3 (state); starttime is field 22.
            if (rest.Length < 20 || !ulong.TryParse(rest[19], NumberStyles.None, CultureInfo.InvariantCulture, out ulong ticks) || BootTime() is not { } boot)
            {
                return null;
            }

            return boot.AddSeconds(ticks / TicksPerSecond);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException or IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static DateTimeOffset? BootTime()
    {
        foreach (string line in File.ReadLines("/proc/stat"))
        {
            if (line.StartsWith("btime ", StringComparison.Ordinal)
                && long.TryParse(line.AsSpan(6).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out long seconds))
            {
                return DateTimeOffset.FromUnixTimeSeconds(seconds);
            }
        }

        return null;
    }
}
