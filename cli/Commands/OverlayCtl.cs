using System.CommandLine;
using OverlayKvm.Cli.Client;
using OverlayKvm.Cli.Shell;

namespace OverlayKvm.Cli.Commands;

/// <summary>
/// overlayctl's entry: virsh-style <c>overlayctl [--connect SOCKET] [--json] COMMAND ARGS</c>; with no command,
/// an interactive shell (or commands read line by line from standard input).
/// </summary>
internal static class OverlayCtl
{
    public static RootCommand BuildRoot(CliGlobals g)
    {
        var root = new RootCommand("overlayctl: administer OverlayKvm's application groups, apps and domains")
        {
            g.Connect, g.Json, g.Timeout,
        };
        foreach (var c in GroupCommands.Create(g)) root.Add(c);
        foreach (var c in AppCommands.Create(g)) root.Add(c);
        foreach (var c in DomainCommands.Create(g)) root.Add(c);
        foreach (var c in HostCommands.Create(g)) root.Add(c);
        root.Add(DomainStatCommand.Create(g));
        foreach (var c in EngineCommands.Create(g)) root.Add(c);
        foreach (var c in LibvirtCommands.Create(g)) root.Add(c);
        foreach (var c in SystemCommands.Create(g)) root.Add(c);
        foreach (var c in PolicyCommands.Create(g)) root.Add(c);
        foreach (var c in RouteCommands.Create(g)) root.Add(c);
        foreach (var c in RebalanceCommands.Create(g)) root.Add(c);
        return root;
    }

    public static async Task<int> RunAsync(string[] args, TextReader input, TextWriter output, TextWriter error, CancellationToken ct)
    {
        var globals = new CliGlobals(output, error);
        var root = BuildRoot(globals);
        if (!NamesACommand(root, args))
            return await InteractiveShell.RunAsync(root, globals, args, input, output, ct);
        return await InvokeAsync(root, globals, args, ct);
    }

    /// <summary>Parses and runs one command line; a parse error is one line on stderr and exit code 2.</summary>
    public static async Task<int> InvokeAsync(RootCommand root, CliGlobals g, IReadOnlyList<string> args, CancellationToken ct)
    {
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            var command = parse.CommandResult.Command == root ? "" : $" (see 'overlayctl {parse.CommandResult.Command.Name} --help')";
            return g.Fail(parse.Errors[0].Message + command, ExitCodes.Usage);
        }
        try
        {
            return await parse.InvokeAsync(new InvocationConfiguration { Output = g.Output, Error = g.Error, EnableDefaultExceptionHandler = false }, ct);
        }
        catch (OverlayCtlException ex)
        {
            return g.Fail(ex.Message, ex.ExitCode);
        }
    }

    // Only global options (or nothing) → shell. "--help"/"--version" are handled by the parser.
    private static bool NamesACommand(RootCommand root, string[] args)
    {
        for (int i = 0; i < args.Length; i++)
        {
            var a = args[i];
            if (a is "--json") continue;
            if (a is "--connect" or "-c" or "--timeout") { i++; continue; }
            if (a.StartsWith("--connect=", StringComparison.Ordinal) || a.StartsWith("--timeout=", StringComparison.Ordinal)) continue;
            return true;
        }
        return false;
    }
}
