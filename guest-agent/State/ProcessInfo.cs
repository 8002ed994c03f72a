namespace OverlayKvm.GuestAgent.State;

/// <summary>
/// Identifies a running process by pid and start time (field 22 of /proc/PID/stat, in clock ticks since boot),
/// so a pid recycled by another process after the app died is not mistaken for the app.
/// </summary>
internal static class ProcessInfo
{
    /// <summary>Start time of pid, or null if no such process is running.</summary>
    public static long? StartTime(int pid)
    {
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
        // "pid (comm) state ppid ..." where comm may contain spaces and parentheses: fields restart after the last ')'.
        int close = text.LastIndexOf(')');
        if (close < 0)
        {
            return null;
        }
        string[] fields = text.Substring(close + 2).Split(' ');
        // fields[0] is field 3 (state); start time is field 22 → index 19. A zombie has exited already.
        if (fields.Length < 20 || fields[0] == "Z" || !long.TryParse(fields[19], out long start))
        {
            return null;
        }
        return start;
    }

    public static bool IsAlive(int pid, long startTime) => StartTime(pid) == startTime;
}
