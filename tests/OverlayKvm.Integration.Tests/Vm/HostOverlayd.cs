using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using OverlayKvm.Integration.Tests.Daemon;

namespace OverlayKvm.Integration.Tests.Vm;

/// <summary>
/// A real overlayd the way a libvirt host runs it, for the engine-path VM tests: its engine regions in the host's
/// <c>/dev/shm</c> (where libvirt's ivshmem-plain looks for <c>&lt;shmem name&gt;</c>; DaemonProcess keeps them in a
/// private folder, which QEMU cannot see) owned by <c>libvirt-qemu</c> (overlayd's default), its store, admin socket
/// and channel sockets in a private folder. The groups these tests define carry a random suffix, so the region
/// files never collide with another run's. Readiness through sd_notify; disposing kills it by PID and removes its
/// folder and the region files of <see cref="RegionFiles"/>, pass or fail.
/// </summary>
internal sealed class HostOverlayd : IAsyncDisposable
{
    private readonly StringBuilder _log = new();
    private Process? _process;

    public HostOverlayd()
    {
        Root = Directory.CreateTempSubdirectory("okvm-vmd-").FullName;
        // QEMU (libvirt-qemu) binds the agent channel sockets in ChannelDir: the folder must be traversable.
        File.SetUnixFileMode(Root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        Directory.CreateDirectory(ChannelDir);
        File.SetUnixFileMode(ChannelDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
    }

    public const string EngineDirectory = "/dev/shm";
    public string Root { get; }
    public string Socket => Path.Combine(Root, "overlayd.sock");
    public string ChannelDir => Path.Combine(Root, "channels");
    public string Log { get { lock (_log) return _log.ToString(); } }

    /// <summary>Region files to remove on dispose (overlayd leaves them for a restarted daemon to adopt).</summary>
    public List<string> RegionFiles { get; } = new();

    public static string RegionPath(string group) => Path.Combine(EngineDirectory, "overlaykvm-" + group);

    public async Task StartAsync()
    {
        var notifyPath = Path.Combine(Root, "notify.sock");
        using var notify = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        notify.Bind(new UnixDomainSocketEndPoint(notifyPath));
        var psi = new ProcessStartInfo(ProductBinaries.Overlayd)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "--socket", Socket, "--state-dir", Path.Combine(Root, "state"), "--channel-dir", ChannelDir,
                     "--host-name", "testhost", "--host-address", "192.0.2.1" })
            psi.ArgumentList.Add(a);
        psi.Environment["NOTIFY_SOCKET"] = notifyPath;
        psi.Environment["OVERLAYKVM_ENGINE__DIRECTORY"] = EngineDirectory;
        // The test defines its own domains; overlayd must not equip or reconcile the host's other libvirt domains.
        psi.Environment["OVERLAYKVM_LIBVIRT__EVENTSERVICEENABLED"] = "false";
        _process = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {psi.FileName}");
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_log) _log.AppendLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_log) _log.AppendLine(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var buffer = new byte[256];
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            while (true)
            {
                var n = await notify.ReceiveAsync(buffer, SocketFlags.None, deadline.Token);
                if (Encoding.UTF8.GetString(buffer, 0, n).Contains("READY=1", StringComparison.Ordinal)) break;
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"overlayd did not report READY=1 within 30 s ({(_process.HasExited ? $"exited {_process.ExitCode}" : "running")}); its log:\n{Log}");
        }
        finally
        {
            File.Delete(notifyPath);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            Posix.Kill(_process.Id, Posix.SIGKILL);
            await _process.WaitForExitAsync();
        }
        _process?.Dispose();
        foreach (var file in RegionFiles) File.Delete(file);
        Directory.Delete(Root, recursive: true);
    }
}
