namespace OverlayKvm.Core.Policy;

// The policy part of the configuration document an agent receives (DomainConfigDocument.Policies etc.).
// Text forms are PolicyText's canonical ones, so the agent parses them with the same code the daemon uses.

/// <summary>A policy whose destination is one of the domain's groups or one of their ancestors.</summary>
/// <param name="From">Canonical sender terms ("group:G2", "not:app:G2/bad", "cidr:10.2.0.0/16", "any").</param>
/// <param name="Ports">"80", "8000-8080", or null for every port.</param>
public sealed record PolicyConfig(long Id, string Destination, IReadOnlyList<string> From, string Protocol, string? Ports, string Verdict, long Version);

/// <summary>A nesting row the agent needs to evaluate its policies: <paramref name="Group"/> is a sub-group of <paramref name="Parent"/>.</summary>
public sealed record GroupParentConfig(string Group, string Parent);

/// <summary>The defaults the daemon applies when no policy matches ("allow"/"deny").</summary>
public sealed record PolicyDefaultsConfig(string BetweenGroups, string WithinGroup)
{
    public static PolicyDefaultsConfig From(PolicyDefaults defaults) =>
        new(PolicyText.FormatVerdict(defaults.BetweenGroups), PolicyText.FormatVerdict(defaults.WithinGroup));

    public PolicyDefaults ToDefaults() =>
        new(PolicyText.ParseVerdict("policy defaults: betweenGroups", BetweenGroups), PolicyText.ParseVerdict("policy defaults: withinGroup", WithinGroup));
}
