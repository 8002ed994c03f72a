using System.Diagnostics;
using System.Text;
using CoreInterop = OverlayKvm.Core.Interop.Interop;
using OverlayKvm.TestSupport;

namespace OverlayKvm.Integration.Tests.Harness;

/// <summary>
/// A real overlay-agent process inside a namespace ("the agent in a VM"), with its channel socket, control socket
/// and state directory under the test's temporary directory. Killed by PID on dispose; its output is kept for
/// failure messages.
/// </summary>
internal sealed class AgentProcess : IDisposable
{
    private readonly StringBuilder _log = new();
    private Process? _process;

    public AgentProcess(NetNamespace ns, string directory, string domain)
    {
        Namespace = ns;
        Domain = domain;
        Directory.CreateDirectory(directory);
        ChannelSocket = Path.Combine(directory, "channel.sock");
        ControlSocket = Path.Combine(directory, "control.sock");
        StateDirectory = Path.Combine(directory, "state");
    }

    public NetNamespace Namespace { get; }

    public string Domain { get; }

    public string ChannelSocket { get; }

    public string ControlSocket { get; }

    public string StateDirectory { get; }

    public int Pid => _process?.Id ?? -1;

    /// <summary>The overlay-agent to run (default <see cref="Prerequisites.AgentBinary"/>), e.g. a packaged one; set before <see cref="Start"/>.</summary>
    public string? Binary { get; init; }

    /// <summary>More `serve` flags, e.g. ["--engine-dir", DIR] for the engine path; set before <see cref="Start"/>.</summary>
    public IReadOnlyList<string> ExtraArguments { get; init; } = [];

    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    public void Start()
    {
        File.Delete(ChannelSocket);
        File.Delete(ControlSocket);
        var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in new[] { "netns", "exec", Namespace.Name, Binary ?? Prerequisites.AgentBinary(), "serve",
                     "--channel-socket", ChannelSocket, "--control", ControlSocket, "--state-dir", StateDirectory })
        {
            psi.ArgumentList.Add(a);
        }
        // OVERLAYKVM_TEST_TUN_OFFLOADS=on|off runs every namespace test's agents in that mode (issue 16: the datapath
        // tests must pass in both); a test's own --tun-offloads comes later and wins.
        if (Environment.GetEnvironmentVariable("OVERLAYKVM_TEST_TUN_OFFLOADS") is { Length: > 0 } offloads)
        {
            psi.ArgumentList.Add("--tun-offloads");
            psi.ArgumentList.Add(offloads);
        }
        foreach (string a in ExtraArguments)
        {
            psi.ArgumentList.Add(a);
        }
        _process = Process.Start(psi) ?? throw new InvalidOperationException("cannot start overlay-agent");
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        WaitUntil(() => File.Exists(ChannelSocket) && File.Exists(ControlSocket), TimeSpan.FromSeconds(20), "agent sockets to appear");
    }

    /// <summary>SIGKILL: the agent gets no chance to clean up (crash / kill -9).</summary>
    public void Kill()
    {
        if (_process is { HasExited: false })
        {
            CoreInterop.Kill(_process.Id, 9);
            _process.WaitForExit(10_000);
        }
    }

    public void WaitUntil(Func<bool> condition, TimeSpan timeout, string what) =>
        Poll.Until(() =>
        {
            if (_process is { HasExited: true })
            {
                throw new InvalidOperationException($"overlay-agent in {Namespace.Name} exited ({_process.ExitCode}) while waiting for {what}:\n{Log}");
            }
            return condition();
        }, timeout, what, () => $"agent log:\n{Log}", TimeSpan.FromMilliseconds(50));

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_log)
        {
            _log.AppendLine(line);
        }
    }

    public void Dispose()
    {
        Kill();
        _process?.Dispose();
    }
}
