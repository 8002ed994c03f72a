namespace OverlayKvm.Core.Policy;

/// <summary>Why a decision was taken: a policy, or one of the two defaults.</summary>
public enum DecisionBasis : byte
{
    Policy = 0,
    DefaultWithinGroup = 1,
    DefaultBetweenGroups = 2,
    /// <summary>An endpoint is not in the directory: nothing is reachable without an association (seed 002 R1e).</summary>
    UnknownEndpoint = 3,
}

/// <summary>
/// The outcome of one evaluation. <see cref="Reason"/> is a string built when the policy set was compiled,
/// so returning a decision allocates nothing.
/// </summary>
/// <param name="PolicyId">The deciding policy, 0 when a default decided.</param>
public readonly record struct PolicyDecision(PolicyVerdict Verdict, DecisionBasis Basis, long PolicyId, string Reason)
{
    public bool IsAllowed => Verdict == PolicyVerdict.Allow;
}
