using OverlayKvm.GuestAgent.Control;
using OverlayKvm.GuestAgent.Hosting;

namespace OverlayKvm.GuestAgent.Cli;

/// <summary>`overlay-agent register|unregister`: count or uncount an app started by other means.</summary>
internal static class RegistrationCommand
{
    public static async Task<int> RunAsync(string op, ParsedOptions options)
    {
        string app = options.Require("app");
        int pid = options.GetInt("pid") ?? throw new ArgumentException("option --pid is required");
        string control = options.Get("control") ?? AgentOptions.DefaultControlSocket;
        ControlResponse r = await ControlClient.SendAsync(control, new ControlRequest(op, app, options.Get("group"), pid), CancellationToken.None).ConfigureAwait(false);
        if (!r.Ok)
        {
            Console.Error.WriteLine($"overlay-agent {op}: {r.Error}");
            return AgentCommandLine.ExitFailed;
        }
        Console.Out.WriteLine($"{op}ed {app} (pid {pid}): app count {r.AppCount}, adapter count {r.AdapterCount}");
        return AgentCommandLine.ExitOk;
    }
}
