using System.Collections.Concurrent;
using System.Diagnostics;

namespace OverlayKvm.Integration.Tests.Engine;

/// <summary>One running overlay-ring-stress process: collects its output lines, killed by PID on dispose.</summary>
internal sealed class StressProcess : IDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly SemaphoreSlim _lineArrived = new(0);

    private StressProcess(Process process) => _process = process;

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public IReadOnlyCollection<string> Lines => _lines;

    public static string BinaryPath
    {
        get
        {
            string? dir = AppContext.BaseDirectory;
            while (dir is not null && !Directory.Exists(Path.Combine(dir, "artifacts", "bin")))
            {
                dir = Path.GetDirectoryName(dir);
            }

            string path = Path.Combine(dir ?? "/", "artifacts", "bin", "OverlayKvm.RingStress", "debug", "overlay-ring-stress");
            if (!File.Exists(path))
            {
                throw new FileNotFoundException($"prerequisite missing: overlay-ring-stress not built at {path} (build tests/OverlayKvm.Integration.Tests)");
            }

            return path;
        }
    }

    public static StressProcess Start(params string[] args)
    {
        var info = new ProcessStartInfo(BinaryPath) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args)
        {
            info.ArgumentList.Add(a);
        }

        var process = new Process { StartInfo = info };
        var wrapper = new StressProcess(process);
        process.OutputDataReceived += (_, e) => wrapper.Add(e.Data);
        process.ErrorDataReceived += (_, e) => wrapper.Add(e.Data is null ? null : "stderr: " + e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return wrapper;
    }

    /// <summary>Waits until a line matching <paramref name="predicate"/> appears (or the process exits / time runs out).</summary>
    public async Task<string?> WaitForLineAsync(Func<string, bool> predicate, TimeSpan timeout)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            foreach (string line in _lines)
            {
                if (predicate(line))
                {
                    return line;
                }
            }

            if (_process.HasExited && !await _lineArrived.WaitAsync(100))
            {
                return null;
            }

            await _lineArrived.WaitAsync(200);
        }

        return null;
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"overlay-ring-stress pid {Pid} did not exit within {timeout.TotalSeconds} s; output: {string.Join(" | ", _lines)}");
        }

        _process.WaitForExit(); // drains the asynchronous output readers
        return _process.ExitCode;
    }

    /// <summary>SIGKILL (Process.Kill on Linux), then wait for the exit.</summary>
    public void KillHard()
    {
        _process.Kill(entireProcessTree: false);
        _process.WaitForExit();
    }

    /// <summary>The values of the one "ok ..." line a finished run printed (the test fails when there is none, or several).</summary>
    public IReadOnlyDictionary<string, string> OkResult() =>
        ParseResult(Assert.Single(Lines, l => l.StartsWith("ok ", StringComparison.Ordinal)));

    public static IReadOnlyDictionary<string, string> ParseResult(string line)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string part in line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = part.IndexOf('=');
            if (eq > 0)
            {
                values[part[..eq]] = part[(eq + 1)..];
            }
        }

        return values;
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                _process.WaitForExit(5000);
            }
        }
        finally
        {
            _process.Dispose();
            _lineArrived.Dispose();
        }
    }

    private void Add(string? line)
    {
        if (line is not null)
        {
            _lines.Enqueue(line);
            _lineArrived.Release();
        }
    }
}
