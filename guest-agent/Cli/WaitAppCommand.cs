using System.Diagnostics;
using OverlayKvm.GuestAgent.Control;
using OverlayKvm.GuestAgent.Hosting;

namespace OverlayKvm.GuestAgent.Cli;

/// <summary>
/// `overlay-agent wait-app NAME [--group G] [--timeout-s N] [--control PATH]`: the ExecStartPre of a service
/// declared as an app. Returns 0 once the agent has counted the app in (its adapter, address and routes exist),
/// 1 with the reason after N seconds (default 80: below systemd's default 90 s start timeout, so this clear
/// message is what the journal shows, not systemd's kill). While the agent is not up yet (boot: udev starts it
/// when its port appears) the control socket is tried again every 200 ms: there is nothing to be notified by
/// before the agent exists.
/// </summary>
internal static class WaitAppCommand
{
    public const int DefaultTimeoutSeconds = 80;
    private static readonly TimeSpan Retry = TimeSpan.FromMilliseconds(200);

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length == 0 || args[0].StartsWith("--", StringComparison.Ordinal))
        {
            throw new ArgumentException("wait-app: give the app's name: wait-app NAME [--group G] [--timeout-s N] [--control PATH]");
        }
        string app = args[0];
        ParsedOptions options = ParsedOptions.Parse(args[1..]);
        int seconds = options.GetInt("timeout-s") ?? DefaultTimeoutSeconds;
        if (seconds is < 1 or > 600)
        {
            throw new ArgumentException($"option --timeout-s: {seconds} outside 1..600");
        }
        string control = options.Get("control") ?? AgentOptions.DefaultControlSocket;
        var clock = Stopwatch.StartNew();
        var deadline = TimeSpan.FromSeconds(seconds);
        string? lastError = null;
        while (clock.Elapsed < deadline)
        {
            int remainingMs = (int)Math.Max(1, (deadline - clock.Elapsed).TotalMilliseconds);
            try
            {
                ControlResponse r = await ControlClient.SendAsync(control, new ControlRequest("wait-app", app, options.Get("group"), TimeoutMs: remainingMs),
                    CancellationToken.None).ConfigureAwait(false);
                if (r.Ok)
                {
                    return AgentCommandLine.ExitOk;
                }
                Console.Error.WriteLine($"overlay-agent wait-app: {r.Error}");
                return AgentCommandLine.ExitFailed;
            }
            catch (IOException ex)
            {
                lastError = ex.Message;
            }
            await Task.Delay(Retry).ConfigureAwait(false);
        }
        Console.Error.WriteLine($"overlay-agent wait-app: app {app} was not counted in within {seconds} s: the agent never answered ({lastError})");
        return AgentCommandLine.ExitFailed;
    }
}
