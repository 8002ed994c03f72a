namespace OverlayKvm.Cli.Client;

/// <summary>A failure overlayctl reports as one line on stderr, with its exit code.</summary>
internal sealed class OverlayCtlException(string message, int exitCode = ExitCodes.Refused) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}

/// <summary>overlayctl's exit codes: 0 success; the others tell scripts what kind of failure it was.</summary>
internal static class ExitCodes
{
    public const int Ok = 0;
    /// <summary>overlayd refused the request (validation, conflict).</summary>
    public const int Refused = 1;
    /// <summary>Bad command line.</summary>
    public const int Usage = 2;
    /// <summary>overlayd could not be reached.</summary>
    public const int Unavailable = 3;
    /// <summary>The named entity does not exist.</summary>
    public const int NotFound = 4;
}
