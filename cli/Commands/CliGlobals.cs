using System.CommandLine;
using OverlayKvm.Cli.Client;
using OverlayKvm.Cli.Output;

namespace OverlayKvm.Cli.Commands;

/// <summary>Options every command takes, and the one place a command's failure becomes a line on stderr and an exit code.</summary>
internal sealed class CliGlobals(TextWriter output, TextWriter error)
{
    public const string DefaultSocket = "/run/overlaykvm/overlayd.sock";

    public Option<string> Connect { get; } = new("--connect", "-c")
    {
        Description = "overlayd's admin socket (default: $OVERLAYKVM_SOCKET or " + DefaultSocket + ")",
        Recursive = true,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("OVERLAYKVM_SOCKET") is { Length: > 0 } s ? s : DefaultSocket,
    };

    public Option<bool> Json { get; } = new("--json") { Description = "print JSON instead of tables", Recursive = true };

    public Option<int> Timeout { get; } = new("--timeout")
    {
        Description = "seconds to wait for overlayd",
        Recursive = true,
        DefaultValueFactory = _ => 30,
    };

    /// <summary>How a command reaches overlayd: its admin socket by default; tests host the API in-process.</summary>
    public Func<ParseResult, TimeSpan, OverlayApiClient>? ClientFactory { get; init; }

    public TextWriter Output { get; } = output;
    public TextWriter Error { get; } = error;

    /// <summary>Runs a command body with a client and a printer; maps every failure to one stderr line.</summary>
    public Func<ParseResult, CancellationToken, Task<int>> Run(Func<OverlayApiClient, Printer, ParseResult, CancellationToken, Task> body) =>
        async (parse, ct) =>
        {
            var timeout = parse.GetValue(Timeout);
            if (timeout is < 1 or > 3600) return Fail($"--timeout: {timeout} is not between 1 and 3600 seconds", ExitCodes.Usage);
            using var client = ClientFactory?.Invoke(parse, TimeSpan.FromSeconds(timeout))
                ?? new OverlayApiClient(parse.GetValue(Connect)!, TimeSpan.FromSeconds(timeout));
            try
            {
                await body(client, new Printer(parse.GetValue(Json), Output), parse, ct);
                return ExitCodes.Ok;
            }
            catch (OverlayCtlException ex)
            {
                return Fail(ex.Message, ex.ExitCode);
            }
            finally
            {
                // One line on stderr, so scripts reading stdout are unaffected.
                if (client.StaleReason is { } stale) Error.WriteLine($"warning: {stale}; this answer may be stale");
            }
        };

    public int Fail(string message, int code)
    {
        Error.WriteLine($"overlayctl: {message}");
        return code;
    }
}
