using OverlayKvm.GuestAgent.Control;
using OverlayKvm.GuestAgent.Hosting;

namespace OverlayKvm.GuestAgent.Cli;

/// <summary>The read-only control-socket commands (stat, rules): one request, one answer, one error line on failure.</summary>
internal static class ControlQuery
{
    /// <summary>Sends <paramref name="op"/>; returns the answer, or null after printing "overlay-agent OP: reason" to stderr.</summary>
    public static async Task<ControlResponse?> AskAsync(ParsedOptions options, string op, Func<ControlResponse, bool> hasAnswer)
    {
        string control = options.Get("control") ?? AgentOptions.DefaultControlSocket;
        ControlResponse r = await ControlClient.SendAsync(control, new ControlRequest(op), CancellationToken.None).ConfigureAwait(false);
        if (!r.Ok || !hasAnswer(r))
        {
            Console.Error.WriteLine($"overlay-agent {op}: {r.Error ?? "the agent's answer is empty"}");
            return null;
        }
        return r;
    }
}
