namespace OverlayKvm.GuestAgent.Config;

/// <summary>A configuration document the agent refuses; lists every problem found, each with its path.</summary>
internal sealed class ConfigCompileException : Exception
{
    public ConfigCompileException(IReadOnlyList<string> errors)
        : base("configuration refused: " + string.Join("; ", errors))
    {
        Errors = errors;
    }

    public IReadOnlyList<string> Errors { get; }
}
