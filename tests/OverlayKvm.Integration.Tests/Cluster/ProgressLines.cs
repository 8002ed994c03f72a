using System.Globalization;

namespace OverlayKvm.Integration.Tests.Cluster;

/// <summary>
/// The "vm-scenario: progress BYTES" lines cluster-apps.sh prints every ~0.2 s while a transfer runs (a round, or the
/// fetches from the plain baseline VM), stamped with the host's clock: how far a transfer got, and the TCP stall.
/// </summary>
internal static class ProgressLines
{
    private const string Prefix = "vm-scenario: progress ";

    /// <summary>
    /// Longest host-clock span between two progress lines that showed the file changed, within
    /// [<paramref name="from"/>, <paramref name="to"/>]: a stall of X shows as at least X (plus up to one ~0.2 s sample);
    /// with the number of progress lines in the window (the figure is empty without them).
    /// </summary>
    public static (TimeSpan Longest, int Samples) LongestStall(SerialLineClock clock, TimeSpan from, TimeSpan to)
    {
        TimeSpan longest = TimeSpan.Zero, lastGrowth = from;
        long bytes = -1;
        int samples = 0;
        foreach (var (at, line) in clock.Lines(Prefix))
        {
            if (at < from || at > to) continue;
            samples++;
            long now = long.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
            if (now == bytes) continue;
            bytes = now;
            if (at - lastGrowth > longest) longest = at - lastGrowth;
            lastGrowth = at;
        }
        return (longest, samples);
    }

    /// <summary>The largest size of the file in the progress lines since <paramref name="from"/>.</summary>
    public static long Bytes(SerialLineClock clock, TimeSpan from)
    {
        long bytes = 0;
        foreach (var (at, line) in clock.Lines(Prefix))
        {
            if (at >= from && long.TryParse(line[(line.LastIndexOf(' ') + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out long now))
                bytes = Math.Max(bytes, now);
        }
        return bytes;
    }
}
