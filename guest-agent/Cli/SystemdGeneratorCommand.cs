using OverlayKvm.GuestAgent.Services;

namespace OverlayKvm.GuestAgent.Cli;

/// <summary>
/// `overlay-agent systemd-generator NORMAL_DIR [EARLY_DIR LATE_DIR] [--apps-dir DIR] [--agent-path PATH]`, run by
/// systemd as /usr/lib/systemd/system-generators/overlay-agent-generator at boot and on daemon-reload. Writes the
/// drop-ins of <see cref="SystemdDropIn"/> into NORMAL_DIR. A bad apps.d line is reported on stderr (systemd puts
/// it in the journal) and skipped; the generator still exits 0 so the other units get their drop-ins, and a
/// generator failure would only add noise to boot.
/// </summary>
internal static class SystemdGeneratorCommand
{
    public static int Run(string[] args)
    {
        var positional = new List<string>();
        string appsDir = AppsDirectory.DefaultPath;
        string agentPath = SystemdDropIn.DefaultAgentPath;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--apps-dir" when i + 1 < args.Length:
                    appsDir = args[++i];
                    break;
                case "--agent-path" when i + 1 < args.Length:
                    agentPath = args[++i];
                    break;
                case var a when a.StartsWith("--", StringComparison.Ordinal):
                    Console.Error.WriteLine($"overlay-agent systemd-generator: unknown option or missing value: {a}");
                    return AgentCommandLine.ExitUsage;
                default:
                    positional.Add(args[i]);
                    break;
            }
        }
        if (positional.Count is not (1 or 3))
        {
            Console.Error.WriteLine("overlay-agent systemd-generator: expected NORMAL_DIR [EARLY_DIR LATE_DIR] (systemd.generator(7))");
            return AgentCommandLine.ExitUsage;
        }
        AppsDirectoryContent content = AppsDirectory.Read(appsDir);
        foreach (string error in content.Errors)
        {
            Console.Error.WriteLine($"overlay-agent-generator: {error}");
        }
        try
        {
            SystemdDropIn.WriteAll(positional[0], content.Apps, agentPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"overlay-agent-generator: cannot write drop-ins into {positional[0]}: {ex.Message}");
            return AgentCommandLine.ExitFailed;
        }
        return AgentCommandLine.ExitOk;
    }
}
