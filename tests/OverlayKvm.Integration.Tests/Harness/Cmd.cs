using System.Diagnostics;

namespace OverlayKvm.Integration.Tests.Harness;

/// <summary>Runs a command to completion and returns its exit code and output (no shell).</summary>
internal static class Cmd
{
    public static (int Code, string Out, string Err) Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {file}");
        Task<string> err = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(60_000))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish in 60 s");
        }
        return (p.ExitCode, output, err.GetAwaiter().GetResult());
    }

    public static string Check(string file, params string[] args)
    {
        var (code, output, err) = Run(file, args);
        if (code != 0)
        {
            throw new InvalidOperationException($"'{file} {string.Join(' ', args)}' exited {code}: {err.Trim()}");
        }
        return output;
    }
}
