using System.Diagnostics;

namespace OverlayKvm.Bench.Datapath;

/// <summary>Process helpers for the throughput comparison: run to completion, or start and kill by PID.</summary>
internal static class BenchShell
{
    public static string Run(params string[] args)
    {
        var psi = new ProcessStartInfo(args[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args.AsSpan(1))
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi)!;
        Task<string> err = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"'{string.Join(' ', args)}' exited {p.ExitCode}: {err.Result.Trim()}");
        }
        return output;
    }

    public static Process Start(IDictionary<string, string>? env, params string[] args)
    {
        var psi = new ProcessStartInfo(args[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args.AsSpan(1))
        {
            psi.ArgumentList.Add(a);
        }
        if (env is not null)
        {
            foreach (var (k, v) in env)
            {
                psi.Environment[k] = v;
            }
        }
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    public static void Stop(Process? p)
    {
        if (p is { HasExited: false })
        {
            OverlayKvm.Core.Interop.Interop.Kill(p.Id, 15);
            if (!p.WaitForExit(5000))
            {
                p.Kill(entireProcessTree: true);
                p.WaitForExit(5000);
            }
        }
        p?.Dispose();
    }

    /// <summary>Busy jiffies of all CPUs (user+nice+system+irq+softirq+steal) from /proc/stat.</summary>
    public static long BusyJiffies()
    {
        string[] f = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        long user = long.Parse(f[1]), nice = long.Parse(f[2]), sys = long.Parse(f[3]), irq = long.Parse(f[6]), softirq = long.Parse(f[7]), steal = long.Parse(f[8]);
        return user + nice + sys + irq + softirq + steal;
    }

    /// <summary>UDP receive-buffer drops (RcvbufErrors) seen inside namespace ns.</summary>
    public static long UdpRcvbufErrors(string ns)
    {
        string[] lines = Run("ip", "netns", "exec", ns, "cat", "/proc/net/snmp").Split('\n');
        for (int i = 0; i + 1 < lines.Length; i++)
        {
            if (lines[i].StartsWith("Udp:", StringComparison.Ordinal) && lines[i + 1].StartsWith("Udp:", StringComparison.Ordinal))
            {
                string[] names = lines[i].Split(' ');
                string[] values = lines[i + 1].Split(' ');
                int idx = Array.IndexOf(names, "RcvbufErrors");
                return idx > 0 ? long.Parse(values[idx]) : 0;
            }
        }
        return 0;
    }
}
