using System.Diagnostics;
using System.Text;

namespace OverlayKvm.Integration.Tests.Cluster;

/// <summary>
/// Stamps each new line of a guest's serial log (a file virtlogd appends to) with the host's clock, polling every
/// 20 ms: a TCG guest's own clock can jump, so gaps the app sees (a stalled transfer) are measured here instead.
/// </summary>
internal sealed class SerialLineClock : IAsyncDisposable
{
    private readonly string _path;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<(TimeSpan At, string Line)> _lines = [];
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Task _loop;
    private long _offset;
    private string _partial = "";

    public SerialLineClock(string path)
    {
        _path = path;
        // Lines already in the file are history, not stamped: start at its current end.
        _offset = File.Exists(path) ? new FileInfo(path).Length : 0;
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>Host time since this clock started.</summary>
    public TimeSpan Now => _clock.Elapsed;

    /// <summary>The stamped lines so far that contain <paramref name="text"/>.</summary>
    public List<(TimeSpan At, string Line)> Lines(string text)
    {
        var found = new List<(TimeSpan, string)>();
        lock (_lines)
            foreach (var l in _lines)
                if (l.Line.Contains(text, StringComparison.Ordinal)) found.Add(l);
        return found;
    }

    /// <summary>Waits for a stamped line containing <paramref name="text"/>.</summary>
    public async Task<(TimeSpan At, string Line)> WaitAsync(string text, TimeSpan timeout)
    {
        var deadline = Now + timeout;
        while (true)
        {
            var found = Lines(text);
            if (found.Count > 0) return found[0];
            if (Now > deadline) throw new TimeoutException($"no line containing '{text}' in {_path} within {timeout.TotalSeconds} s");
            await Task.Delay(50);
        }
    }

    private async Task LoopAsync()
    {
        var buffer = new byte[64 * 1024];
        while (!_stop.IsCancellationRequested)
        {
            if (File.Exists(_path))
            {
                using var stream = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                stream.Seek(_offset, SeekOrigin.Begin);
                int n;
                while ((n = stream.Read(buffer, 0, buffer.Length)) > 0)
                {
                    _offset += n;
                    Add(Encoding.UTF8.GetString(buffer, 0, n));
                }
            }
            try { await Task.Delay(20, _stop.Token); }
            catch (OperationCanceledException) { return; }
        }
    }

    private void Add(string text)
    {
        var at = Now;
        var parts = (_partial + text).Split('\n');
        _partial = parts[^1];
        lock (_lines)
            for (int i = 0; i < parts.Length - 1; i++) _lines.Add((at, parts[i].TrimEnd('\r')));
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }
}
