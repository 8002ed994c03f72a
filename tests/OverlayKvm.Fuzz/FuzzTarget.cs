namespace OverlayKvm.Fuzz;

/// <summary>
/// One fuzz target: feeds bytes another party controls to one of OverlayKvm's parsers through the same entry point
/// production uses. <see cref="Run"/> is what afl-fuzz (through SharpFuzz) and the replay tests call: any exception
/// that escapes it is a finding. The only exceptions a target swallows are the ones its parser documents as its way of
/// refusing input (<see cref="IsRejection"/>); everything else propagates.
/// </summary>
internal abstract class FuzzTarget : IDisposable
{
    /// <summary>The name given on the command line and used for Corpus/NAME and Crashes/NAME.</summary>
    public abstract string Name { get; }

    /// <summary>Runs one input. Throws only for a finding.</summary>
    public void Run(ReadOnlySpan<byte> input)
    {
        try
        {
            Execute(input);
        }
        catch (Exception ex) when (IsRejection(ex))
        {
            // The parser's documented refusal of hostile input: not a finding.
        }
    }

    protected abstract void Execute(ReadOnlySpan<byte> input);

    /// <summary>The documented ways this target's API refuses input (default: none; every exception is a finding).</summary>
    protected virtual bool IsRejection(Exception ex) => false;

    public virtual void Dispose()
    {
    }
}
