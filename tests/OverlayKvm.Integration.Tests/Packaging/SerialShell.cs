using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace OverlayKvm.Integration.Tests.Packaging;

/// <summary>
/// The root shell a Debian test VM runs on its serial console (agetty autologin on ttyS0), reached through the
/// unix socket QEMU serves the console on. Each command is framed by two printf markers; their format strings
/// differ from their output, so the terminal's echo of the command line can never be taken for the markers, and
/// the exit status travels in the closing one. Console output is hostile text: it is only searched, never run.
/// </summary>
internal sealed class SerialShell : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly StringBuilder _received = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _reader;
    private int _sequence;

    private SerialShell(Socket socket)
    {
        _socket = socket;
        _reader = Task.Run(ReadLoopAsync);
    }

    /// <summary>Everything the console sent since the connection (for failure messages).</summary>
    public string Transcript { get { lock (_received) return _received.ToString(); } }

    /// <summary>Connects to QEMU's console socket (it exists once 'virsh start' returned).</summary>
    public static async Task<SerialShell> ConnectAsync(string socketPath)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath));
            return new SerialShell(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Waits until the shell answers (systemd booted, agetty logged root in): probes every 3 s, as typing before
    /// the shell runs is lost. Then turns the terminal's echo off and makes the output plain.
    /// </summary>
    public async Task WaitReadyAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var n = Interlocked.Increment(ref _sequence);
            await SendAsync($"\nprintf '@@%s-%d@@\\n' READY {n}\n");
            var until = DateTime.UtcNow + TimeSpan.FromSeconds(3);
            while (DateTime.UtcNow < until)
            {
                if (Transcript.Contains($"@@READY-{n}@@", StringComparison.Ordinal))
                {
                    await RunAsync("stty -echo -onlcr; export TERM=dumb SYSTEMD_PAGER= SYSTEMD_COLORS=0 PAGER=cat", TimeSpan.FromSeconds(60));
                    return;
                }
                await Task.Delay(100);
            }
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"no shell answered on the serial console within {timeout.TotalSeconds} s; console so far:\n{Tail(Transcript, 3000)}");
        }
    }

    /// <summary>Runs one command line (a simple list: no trailing comment or here-document) in the shell; returns its
    /// exit status and output (CRs removed).</summary>
    public async Task<(int Status, string Output)> RunAsync(string command, TimeSpan timeout)
    {
        var n = Interlocked.Increment(ref _sequence);
        var start = Transcript.Length;
        // One line, so no prompt comes between the markers.
        await SendAsync($"printf '@@%s-%d@@\\n' BEGIN {n}; {command}; printf '@@%s-%d-%d@@\\n' END {n} $?\n");
        var begin = $"@@BEGIN-{n}@@";
        var end = new Regex($"@@END-{n}-(\\d+)@@");
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var text = Transcript[start..];
            var b = text.IndexOf(begin, StringComparison.Ordinal);
            if (b >= 0)
            {
                var m = end.Match(text, b);
                if (m.Success)
                    return (int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture),
                        text[(b + begin.Length)..m.Index].Replace("\r", "", StringComparison.Ordinal).Trim('\n'));
            }
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"'{command}' did not finish within {timeout.TotalSeconds} s on the serial console; its end:\n{Tail(text, 3000)}");
            await Task.Delay(100);
        }
    }

    /// <summary>Runs a command that must exit 0; returns its output.</summary>
    public async Task<string> CheckAsync(string command, TimeSpan timeout)
    {
        var (status, output) = await RunAsync(command, timeout);
        if (status != 0) throw new InvalidOperationException($"'{command}' exited {status} in the VM:\n{output}");
        return output;
    }

    private async Task SendAsync(string text)
    {
        try
        {
            await _socket.SendAsync(Encoding.UTF8.GetBytes(text), SocketFlags.None);
        }
        catch (SocketException e)
        {
            throw new IOException($"the serial console connection ended ({e.SocketErrorCode}): the VM stopped? Console so far:\n{Tail(Transcript, 3000)}", e);
        }
    }

    private async Task ReadLoopAsync()
    {
        var buffer = new byte[8192];
        var decoder = Encoding.UTF8.GetDecoder();
        var chars = new char[8192];
        try
        {
            while (true)
            {
                var n = await _socket.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                if (n == 0) return;
                var c = decoder.GetChars(buffer, 0, n, chars, 0);
                lock (_received) _received.Append(chars, 0, c);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
        {
            // Disposing: the console is no longer read.
        }
        catch (SocketException e)
        {
            lock (_received) _received.Append($"\n[serial console connection ended: {e.SocketErrorCode}]\n");
        }
    }

    private static string Tail(string text, int chars) => text.Length <= chars ? text : text[^chars..];

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _socket.Dispose();
        await _reader;
        _stop.Dispose();
    }
}
