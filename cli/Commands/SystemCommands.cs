using System.CommandLine;
using System.Reflection;
using System.Text.Json.Nodes;
using OverlayKvm.Cli.Client;
using OverlayKvm.Core.Api;

namespace OverlayKvm.Cli.Commands;

/// <summary>version: this overlayctl, and the daemon's when it answers (exit 3 when it does not).</summary>
internal static class SystemCommands
{
    public static string CliVersion { get; } =
        typeof(SystemCommands).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";

    public static IEnumerable<Command> Create(CliGlobals g)
    {
        var version = new Command("version", "print overlayctl's and overlayd's versions");
        version.SetAction(g.Run(async (client, print, p, ct) =>
        {
            VersionView? daemon = null;
            string? problem = null;
            try { daemon = await client.GetAsync("v1/version", ApiJsonContext.Default.VersionView, ct); }
            catch (OverlayCtlException ex) { problem = ex.Message; }
            if (print.Json)
            {
                var json = new JsonObject { ["overlayctl"] = CliVersion, ["overlayd"] = daemon?.Daemon, ["api"] = daemon?.Api, ["storeVersion"] = daemon?.StoreVersion };
                print.WriteLine(json.ToJsonString());
            }
            else
            {
                print.WriteLine($"overlayctl {CliVersion}");
                print.WriteLine(daemon is null ? $"overlayd: unavailable ({problem})" : $"overlayd {daemon.Daemon} (API {daemon.Api}, store version {daemon.StoreVersion})");
            }
            if (daemon is null)
            {
                // Exit 3 like every other command when overlayd does not answer: scripts wait for the daemon with
                // "overlayctl version" (issue 14 item 11); both versions were still printed above.
                throw new OverlayCtlException(problem!, ExitCodes.Unavailable);
            }
        }));
        yield return version;
    }
}
