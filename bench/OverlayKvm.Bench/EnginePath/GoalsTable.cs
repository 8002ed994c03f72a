using System.Globalization;

namespace OverlayKvm.Bench.EnginePath;

/// <summary>One path's medians over the rounds of a run: throughput, 1-byte RR, tunnel CPU per GB, 50-connection rate and its tunnel CPU per transaction.</summary>
internal sealed record PathMedians(double MBps, double RrMicros, double CpuSecondsPerGb, double ManyTps, double ManyTunnelMicros);

/// <summary>
/// Issue 16's goals, each figure a ratio of medians from the same run, with "met" or "not met". Baselines (veth,
/// wireguard-go, Nebula) are the medians of all their rounds in the run; engine and sealed those of one offload mode.
/// </summary>
internal static class GoalsTable
{
    private sealed record Row(string Figure, double Value, string Shown, string Goal, bool Met);

    public static void Print(string mode, PathMedians engine, PathMedians sealedPath, PathMedians veth, PathMedians wireGuard, PathMedians nebula, double idlePercentPerAgent)
    {
        Row[] rows =
        [
            AtLeast("engine path / veth throughput", engine.MBps / veth.MBps, 0.5),
            AtLeast("sealed path / veth throughput", sealedPath.MBps / veth.MBps, 0.25),
            AtLeast("sealed path / wireguard-go throughput", sealedPath.MBps / wireGuard.MBps, 8),
            AtMost("engine 1-byte TCP RR / veth's", engine.RrMicros / veth.RrMicros, 2),
            AtMost("agents CPU-s per GB, engine", engine.CpuSecondsPerGb, 1, ratio: false),
            AtMost("agents CPU-s per GB, sealed", sealedPath.CpuSecondsPerGb, 4, ratio: false),
            AtMost("idle agent CPU %, busier agent (1st mode)", idlePercentPerAgent, 0.2, ratio: false, exclusive: true),
            AtMost("sealed 1-byte TCP RR / Nebula's", sealedPath.RrMicros / nebula.RrMicros, 0.5),
            AtLeast("50 connections aggregate / veth's, engine", engine.ManyTps / veth.ManyTps, 0.8),
            AtLeast("50 connections aggregate / veth's, sealed", sealedPath.ManyTps / veth.ManyTps, 0.6),
        ];

        Console.WriteLine();
        Console.WriteLine($"goals (issue 16), TUN offloads {mode}: medians of the rounds, baselines from the same run");
        Console.WriteLine($"| {"figure",-44} | {"measured",9} | {"goal",8} | {"",7} |");
        foreach (Row r in rows)
        {
            Console.WriteLine($"| {r.Figure,-44} | {r.Shown,9} | {r.Goal,8} | {(double.IsNaN(r.Value) ? "no data" : r.Met ? "met" : "not met"),7} |");
        }
    }

    private static Row AtLeast(string figure, double value, double goal) =>
        new(figure, value, Show(value, ratio: true), "≥ " + Show(goal, ratio: true), value >= goal);

    private static Row AtMost(string figure, double value, double goal, bool ratio = true, bool exclusive = false) =>
        new(figure, value, Show(value, ratio), (exclusive ? "< " : "≤ ") + Show(goal, ratio), exclusive ? value < goal : value <= goal);

    private static string Show(double value, bool ratio) =>
        double.IsNaN(value) ? "-" : (ratio ? "x" : "") + value.ToString("F2", CultureInfo.InvariantCulture);
}
