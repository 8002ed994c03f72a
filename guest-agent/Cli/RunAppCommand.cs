using System.Diagnostics;
using System.Runtime.InteropServices;
using OverlayKvm.GuestAgent.Control;
using OverlayKvm.GuestAgent.Hosting;
using CoreInterop = OverlayKvm.Core.Interop.Interop;

namespace OverlayKvm.GuestAgent.Cli;

/// <summary>
/// `overlay-agent run --app NAME -- CMD ARGS…` (R0.8): registers this wrapper process for the app (so the
/// adapter, address and routes exist before the app starts and can bind its address), runs the app with the same
/// stdio, forwards SIGINT/SIGTERM to it, and unregisters when it exits. If the wrapper is killed, the agent
/// notices the dead pid and uncounts it anyway. Exit code: the app's.
/// </summary>
internal static class RunAppCommand
{
    public static async Task<int> RunAsync(ParsedOptions options, string[] command)
    {
        string app = options.Require("app");
        string? group = options.Get("group");
        if (command.Length == 0)
        {
            throw new ArgumentException("run: give the command after '--'");
        }
        string control = options.Get("control") ?? AgentOptions.DefaultControlSocket;
        int self = Environment.ProcessId;
        ControlResponse registered = await ControlClient.SendAsync(control, new ControlRequest("register", app, group, self), CancellationToken.None).ConfigureAwait(false);
        if (!registered.Ok)
        {
            Console.Error.WriteLine($"overlay-agent run: {registered.Error}");
            return AgentCommandLine.ExitFailed;
        }
        int exitCode;
        try
        {
            var psi = new ProcessStartInfo(command[0]) { UseShellExecute = false };
            foreach (string a in command.AsSpan(1))
            {
                psi.ArgumentList.Add(a);
            }
            using Process child = Process.Start(psi) ?? throw new IOException($"run: could not start '{command[0]}'");
            using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx => Forward(ctx, child, 15));
            using var intr = PosixSignalRegistration.Create(PosixSignal.SIGINT, ctx => Forward(ctx, child, 2));
            await child.WaitForExitAsync().ConfigureAwait(false);
            exitCode = child.ExitCode;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            Console.Error.WriteLine($"overlay-agent run: cannot start '{command[0]}': {ex.Message}");
            exitCode = 127;
        }
        finally
        {
            ControlResponse unregistered = await ControlClient.SendAsync(control, new ControlRequest("unregister", app, group, self), CancellationToken.None).ConfigureAwait(false);
            if (!unregistered.Ok)
            {
                Console.Error.WriteLine($"overlay-agent run: unregister {app}: {unregistered.Error}");
            }
        }
        return exitCode;
    }

    private static void Forward(PosixSignalContext context, Process child, int signal)
    {
        // The app decides how to stop; the wrapper stays until it has, so the count drops only when the app is gone.
        context.Cancel = true;
        CoreInterop.Kill(child.Id, signal);
    }
}
