using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace OverlayKvm.Integration.Tests.Daemon;

/// <summary>
/// A real overlayd process with its own socket and state directory under a temporary folder, started and
/// awaited through sd_notify (READY=1) so tests never poll or sleep for readiness. Disposing stops it and
/// removes the folder, also when the test failed.
/// </summary>
internal sealed class DaemonProcess : IAsyncDisposable
{
    private Process? _process;
    private readonly StringBuilder _log = new();

    public DaemonProcess()
    {
        Root = Directory.CreateTempSubdirectory("okvm-d-").FullName;
        Socket = Path.Combine(Root, "overlayd.sock");
        StateDir = Path.Combine(Root, "state");
        EngineDir = Path.Combine(Root, "shm");
        Directory.CreateDirectory(EngineDir);
    }

    /// <summary>
    /// A daemon whose engine regions live in <paramref name="engineDirectory"/> (e.g. the host's /dev/shm, where
    /// libvirt's ivshmem-plain looks for &lt;shmem name&gt;) instead of a private folder. That folder is not the
    /// daemon's: disposing leaves it, and the caller removes the region files its groups made there.
    /// </summary>
    public DaemonProcess(string engineDirectory)
    {
        Root = Directory.CreateTempSubdirectory("okvm-d-").FullName;
        Socket = Path.Combine(Root, "overlayd.sock");
        StateDir = Path.Combine(Root, "state");
        EngineDir = engineDirectory;
    }

    /// <summary>Where overlayd lays out the engine regions (OVERLAYKVM_ENGINE__DIRECTORY).</summary>
    public string EngineDir { get; }

    /// <summary>More overlayd switches (e.g. <c>--store etcd --etcd-endpoints ...</c>), appended to the defaults.</summary>
    public IReadOnlyList<string> ExtraArguments { get; set; } = [];

    /// <summary>More environment (OVERLAYKVM_SECTION__KEY=value), applied after the defaults so it can override them.</summary>
    public Dictionary<string, string> Environment { get; } = new(StringComparer.Ordinal);

    private readonly string? _channelDir;

    /// <summary>
    /// Where overlayd looks for the agents' channel sockets (DOMAIN.agent.sock): its own folder unless a test gives
    /// another (a host's private folder reached through /proc/PID/root, where a migrated domain's QEMU binds again).
    /// </summary>
    public string ChannelDir { get => _channelDir ?? Path.Combine(Root, "channels"); init => _channelDir = value; }

    /// <summary>This daemon's host in the inventory (<c>--host-name</c>); a cluster test gives each daemon its own.</summary>
    public string HostName { get; init; } = "testhost";

    /// <summary>The host's underlay address (<c>--host-address</c>).</summary>
    public string HostAddress { get; init; } = "192.0.2.1";

    public string Root { get; }
    public string Socket { get; }
    public string StateDir { get; }
    public int Pid => _process?.Id ?? 0;
    public string Log { get { lock (_log) return _log.ToString(); } }

    /// <summary>QEMU (libvirt's qemu user) binds the agents' channel sockets in this daemon's channel directory.</summary>
    public void AllowQemuIntoChannelDir()
    {
        Directory.CreateDirectory(ChannelDir);
        // The daemon's folder only needs to be traversable (it holds the store and the admin socket).
        File.SetUnixFileMode(Root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        File.SetUnixFileMode(ChannelDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
    }

    public async Task StartAsync(TimeSpan? timeout = null)
    {
        if (_process is { HasExited: false }) throw new InvalidOperationException("overlayd is already running");
        var notifyPath = Path.Combine(Root, $"notify-{Guid.NewGuid():N}.sock");
        using var notify = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        notify.Bind(new UnixDomainSocketEndPoint(notifyPath));

        var psi = new ProcessStartInfo(ProductBinaries.Overlayd)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "--socket", Socket, "--state-dir", StateDir, "--channel-dir", ChannelDir, "--host-name", HostName, "--host-address", HostAddress })
            psi.ArgumentList.Add(a);
        foreach (var a in ExtraArguments)
            psi.ArgumentList.Add(a);
        psi.Environment["NOTIFY_SOCKET"] = notifyPath;
        // Engine regions of test daemons stay in the test's folder, not in the host's /dev/shm (unless asked for).
        psi.Environment["OVERLAYKVM_ENGINE__DIRECTORY"] = EngineDir;
        // A test daemon must never equip or reconcile the host's real libvirt domains.
        psi.Environment["OVERLAYKVM_LIBVIRT__EVENTSERVICEENABLED"] = "false";
        foreach (var (key, value) in Environment)
            psi.Environment[key] = value;
        _process = Process.Start(psi) ?? throw new InvalidOperationException("cannot start overlayd");
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_log) _log.AppendLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_log) _log.AppendLine(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        var buffer = new byte[256];
        using var deadline = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        try
        {
            while (true)
            {
                var received = await notify.ReceiveAsync(buffer, SocketFlags.None, deadline.Token);
                if (Encoding.UTF8.GetString(buffer, 0, received).Contains("READY=1", StringComparison.Ordinal)) break;
            }
        }
        catch (OperationCanceledException)
        {
            var exited = _process.HasExited ? $"exited with {_process.ExitCode}" : "still running";
            throw new TimeoutException($"overlayd did not report READY=1 ({exited}); its log:\n{Log}");
        }
        finally
        {
            File.Delete(notifyPath);
        }
    }

    /// <summary>Clean stop: SIGTERM and wait.</summary>
    public async Task StopAsync()
    {
        if (_process is null || _process.HasExited) return;
        Posix.Kill(_process.Id, Posix.SIGTERM);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        try { await _process.WaitForExitAsync(deadline.Token); }
        catch (OperationCanceledException) { _process.Kill(); throw new TimeoutException($"overlayd did not stop on SIGTERM; its log:\n{Log}"); }
    }

    /// <summary>Crash: SIGKILL, no chance to clean up.</summary>
    public async Task KillAsync()
    {
        if (_process is null || _process.HasExited) return;
        Posix.Kill(_process.Id, Posix.SIGKILL);
        await _process.WaitForExitAsync();
    }

    public int ExitCode => _process?.ExitCode ?? throw new InvalidOperationException("not started");

    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
        _process?.Dispose();
        Directory.Delete(Root, recursive: true);
    }
}
