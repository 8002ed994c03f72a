using System.CommandLine;
using OverlayKvm.Cli.Client;
using OverlayKvm.Cli.Commands;

namespace OverlayKvm.Cli.Shell;

/// <summary>
/// virsh-like shell: one command per line, with the global options given on the shell's own command line
/// applied to every command. Reading from a pipe runs the same way without a prompt; the exit code is then
/// that of the first failing command (0 if none), so scripts notice failures.
/// </summary>
internal static class InteractiveShell
{
    public static async Task<int> RunAsync(RootCommand root, CliGlobals g, string[] globalArgs, TextReader input, TextWriter output, CancellationToken ct)
    {
        bool interactive = ReferenceEquals(input, Console.In) && !Console.IsInputRedirected;
        if (interactive) output.WriteLine("overlayctl shell: type 'help' for commands, 'quit' to leave");
        int firstFailure = ExitCodes.Ok;
        int lineNumber = 0;
        while (!ct.IsCancellationRequested)
        {
            if (interactive) output.Write("overlayctl# ");
            var line = await input.ReadLineAsync(ct);
            if (line is null) break;
            lineNumber++;
            List<string> words;
            try
            {
                words = CommandLineWords.Split(line);
            }
            catch (FormatException ex)
            {
                g.Fail($"line {lineNumber}: {ex.Message}", ExitCodes.Usage);
                if (firstFailure == ExitCodes.Ok) firstFailure = ExitCodes.Usage;
                continue;
            }
            if (words.Count == 0 || words[0].StartsWith('#')) continue;
            if (words[0] is "quit" or "exit") break;
            if (words[0] == "help") words = ["--help"];

            var args = new List<string>(globalArgs);
            args.AddRange(words);
            int code = await OverlayCtl.InvokeAsync(root, g, args, ct);
            if (code != ExitCodes.Ok && firstFailure == ExitCodes.Ok) firstFailure = code;
        }
        return interactive ? ExitCodes.Ok : firstFailure;
    }
}
