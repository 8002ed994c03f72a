using System.Globalization;
using static OverlayKvm.Integration.Tests.Vm.ScenarioConsole;

namespace OverlayKvm.Integration.Tests.Cluster;

/// <summary>
/// One 1 ms ICMP echo stream of cluster-apps.sh's ping_stream (busybox <c>ping -i 0.001</c> in vm1), read from vm1's
/// host-stamped console: ping's own counts, the runs of echoes never answered (the guest lists them by first seq), and
/// "pingseq LABEL SEQ" samples every ~0.2 s that place a seq on the host's clock. The guest's clock is unreliable under
/// TCG, so the stream's real rate is the host-clock time between its begin and end lines over the echoes sent.
/// </summary>
internal sealed class PingStream
{
    private readonly List<(TimeSpan At, int Seq)> _samples = [];
    private readonly List<(int Seq, int Run)> _runs = [];

    private PingStream(string label) => Label = label;

    public string Label { get; }
    public TimeSpan Begin { get; private set; }
    public TimeSpan End { get; private set; }
    public string Summary { get; private set; } = "";
    public int Transmitted { get; private set; }
    public int Received { get; private set; }
    /// <summary>The longest run of seqs below the highest answered that were never answered, and its first seq.</summary>
    public int Longest { get; private set; }
    public int LongestSeq { get; private set; }
    /// <summary>The longest echo round trip (ms, guest clock): an echo held, not lost, shows here.</summary>
    public double MaxRttMs { get; private set; }
    /// <summary>
    /// The longest time without any reply (ms, guest clock; a reply's arrival estimated as its seq × the mean interval +
    /// its RTT), and the seq whose reply ended it.
    /// </summary>
    public double SilenceMs { get; private set; }
    public int SilenceSeq { get; private set; }
    /// <summary>How many runs of ≥ 3 missing seqs the guest found (it lists the first 100).</summary>
    public int RunCount { get; private set; }
    public string Error { get; private set; } = "";
    public int Samples => _samples.Count;

    /// <summary>Host-clock milliseconds per echo sent (1 when the guest kept its 1 ms interval).</summary>
    public double PeriodMs => Transmitted == 0 ? double.NaN : (End - Begin).TotalMilliseconds / Transmitted;

    /// <summary>The stream labelled <paramref name="label"/> on <paramref name="clock"/>; fails naming the line it lacks.</summary>
    public static PingStream Read(SerialLineClock clock, string label)
    {
        var s = new PingStream(label);
        s.Begin = Single(clock, $"vm-scenario: ping {label} begin").At;
        s.End = Single(clock, $"vm-scenario: ping {label} end").At;
        var summary = Single(clock, $"vm-scenario: ping {label} summary ").Line;
        s.Summary = summary[summary.IndexOf("vm-scenario: ", StringComparison.Ordinal)..];
        s.Transmitted = Int(Field(summary, "tx"));
        s.Received = Int(Field(summary, "rx"));
        var longest = Field(summary, "longest").Split('@');
        (s.Longest, s.LongestSeq) = (Int(longest[0]), Int(longest[1]));
        s.MaxRttMs = double.Parse(Field(summary, "maxrtt"), CultureInfo.InvariantCulture);
        var silence = Field(summary, "silence").Split('@');
        (s.SilenceMs, s.SilenceSeq) = (double.Parse(silence[0], CultureInfo.InvariantCulture), Int(silence[1]));
        s.RunCount = Int(Field(summary, "runs"));
        foreach (var run in Field(summary, "list").Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = run.Split('+');
            s._runs.Add((Int(parts[0]), Int(parts[1])));
        }
        s.Error = summary[(summary.IndexOf(" error=", StringComparison.Ordinal) + " error=".Length)..].Trim();
        // A sample may be cut inside a reply line (the file is written in blocks): keep only those that advance.
        int last = -1;
        foreach (var (at, line) in clock.Lines($"vm-scenario: pingseq {label} "))
        {
            var word = line[(line.LastIndexOf(' ') + 1)..];
            if (int.TryParse(word, NumberStyles.None, CultureInfo.InvariantCulture, out int seq) && seq > last)
            {
                s._samples.Add((at, seq));
                last = seq;
            }
        }
        return s;
    }

    /// <summary>
    /// Host time of the first sample that had reached <paramref name="seq"/>: an upper bound of when that echo was
    /// answered (the sample every ~0.2 s, the reply file written in blocks); null past the last sample.
    /// </summary>
    public TimeSpan? TimeOf(int seq)
    {
        foreach (var (at, s) in _samples)
            if (s >= seq) return at;
        return null;
    }

    /// <summary>
    /// The longest listed run of missing seqs whose end was answered within [<paramref name="from"/>, <paramref name="to"/>]
    /// (<paramref name="inside"/>) or outside it (the machine's own noise beside the migration's gap).
    /// </summary>
    public (int Run, int Seq) LongestWithin(TimeSpan from, TimeSpan to, bool inside = true)
    {
        (int Run, int Seq) best = (0, -1);
        foreach (var (seq, run) in _runs)
        {
            var at = TimeOf(seq + run);
            if (at is { } t && (t >= from && t <= to) == inside && run > best.Run) best = (run, seq);
        }
        return best;
    }

    /// <summary>
    /// Host-clock check of the silence, at the samples' ~0.2 s resolution: the longest span between two samples whose
    /// later one is within [<paramref name="from"/>, <paramref name="to"/>] with no reply in between.
    /// </summary>
    public TimeSpan LongestSampleGap(TimeSpan from, TimeSpan to)
    {
        var longest = TimeSpan.Zero;
        for (int i = 1; i < _samples.Count; i++)
        {
            var at = _samples[i].At;
            if (at >= from && at <= to && at - _samples[i - 1].At > longest) longest = at - _samples[i - 1].At;
        }
        return longest;
    }

    /// <summary>The figures in one line, the window being the migration's host-clock span.</summary>
    public string Describe(TimeSpan from, TimeSpan to)
    {
        var (run, seq) = LongestWithin(from, to);
        var (outside, outsideSeq) = LongestWithin(from, to, inside: false);
        return string.Create(CultureInfo.InvariantCulture,
            $"ping {Label}: {Transmitted} echoes in {(End - Begin).TotalSeconds:F1} s (host clock: one per {PeriodMs:F2} ms), {Received} answered; " +
            $"longest run never answered {Longest} echoes (x 1 ms = {Longest} ms; x {PeriodMs:F2} ms = {Longest * PeriodMs:F0} ms) at seq {LongestSeq} (answered again at host +{TimeOf(LongestSeq + Longest)?.TotalSeconds:F1} s); " +
            $"within the migration ({from.TotalSeconds:F1}-{to.TotalSeconds:F1} s) {run} echoes (= {run * PeriodMs:F0} ms) at seq {seq}, outside it {outside} (= {outside * PeriodMs:F0} ms) at seq {outsideSeq}; " +
            $"{RunCount} runs of >= 3 missing; max RTT {MaxRttMs:F1} ms; longest silence (no reply) {SilenceMs:F0} ms ended by seq {SilenceSeq} (host +{TimeOf(SilenceSeq)?.TotalSeconds:F1} s), " +
            $"host-clock samples: longest span without a reply within the migration {LongestSampleGap(from, to).TotalMilliseconds:F0} ms" +
            $"{(Error.Length > 0 ? "; ping said: " + Error : "")}");
    }

    private static (TimeSpan At, string Line) Single(SerialLineClock clock, string text)
    {
        var found = clock.Lines(text);
        if (found.Count == 0) throw new Xunit.Sdk.XunitException($"vm1's console has no line '{text}'");
        return found[0];
    }

    private static int Int(string s) => int.Parse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
}
