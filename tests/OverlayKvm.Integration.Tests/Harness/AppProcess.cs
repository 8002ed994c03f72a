using System.Diagnostics;
using CoreInterop = OverlayKvm.Core.Interop.Interop;

namespace OverlayKvm.Integration.Tests.Harness;

/// <summary>`overlay-agent run --app NAME -- sleep …` inside a namespace: a counted app (R0.8). Stopped by SIGTERM to the wrapper.</summary>
internal sealed class AppProcess : IDisposable
{
    private readonly Process _process;

    private AppProcess(Process process, string app)
    {
        _process = process;
        App = app;
    }

    public string App { get; }

    public int Pid => _process.Id;

    public static AppProcess Start(AgentProcess agent, string app)
    {
        var psi = new ProcessStartInfo("ip") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { "netns", "exec", agent.Namespace.Name, Prerequisites.AgentBinary(), "run", "--app", app, "--control", agent.ControlSocket, "--", "sleep", "600" })
        {
            psi.ArgumentList.Add(a);
        }
        return new AppProcess(Process.Start(psi) ?? throw new InvalidOperationException("cannot start overlay-agent run"), app);
    }

    /// <summary>
    /// Starts `overlay-agent run --app NAME -- sleep 600` and waits until the app's address is on its adapter (the agent
    /// counted it in). On failure the wrapper is stopped before the failure propagates, so callers track only a running app.
    /// </summary>
    public static AppProcess StartOnAdapter(AgentProcess agent, string app, string address)
    {
        var p = Start(agent, app);
        try
        {
            agent.WaitUntil(() => p.HasExited || agent.Namespace.Ip("-4", "addr", "show").Contains(address + "/32", StringComparison.Ordinal),
                TimeSpan.FromSeconds(20), $"address {address} of app {app}");
            Assert.False(p.HasExited, $"overlay-agent run --app {app} exited early: {p.Output()}\nagent log:\n{agent.Log}");
            return p;
        }
        catch
        {
            p.Dispose();
            throw;
        }
    }

    /// <summary>SIGTERM to the wrapper: it forwards to the app, waits for it, unregisters, exits.</summary>
    public void Stop()
    {
        if (!_process.HasExited)
        {
            CoreInterop.Kill(_process.Id, 15);
            if (!_process.WaitForExit(15_000))
            {
                throw new TimeoutException($"overlay-agent run --app {App} did not exit 15 s after SIGTERM");
            }
        }
    }

    public string Output() => _process.HasExited ? _process.StandardError.ReadToEnd() + _process.StandardOutput.ReadToEnd() : "(running)";

    public bool HasExited => _process.HasExited;

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }
        _process.Dispose();
    }
}
