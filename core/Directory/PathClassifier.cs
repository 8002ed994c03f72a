using System.Net;
using OverlayKvm.Core.Model;

namespace OverlayKvm.Core.DirectoryService;

/// <summary>
/// The one place that decides which path a packet takes between two apps and what is done to it (seed 002 R2, R12,
/// R14): route-explain (<see cref="OverlayDirectory.Lookup"/>) and the configuration documents the agents execute
/// (<see cref="Config.DomainConfigBuilder"/>) both ask it, so they cannot disagree. Immutable.
/// </summary>
public sealed class PathClassifier
{
    private readonly IReadOnlyList<IPNetwork> _trustedSegments;

    /// <param name="trustedSegments">Underlay ranges the operator trusts: VMs whose addresses share one get <see cref="PathClass.TrustedSegment"/>.</param>
    public PathClassifier(IReadOnlyList<IPNetwork> trustedSegments, TransformationTable table)
    {
        _trustedSegments = trustedSegments;
        Table = table;
    }

    /// <summary>No trusted segment, the standard table: every cross-host path sealed.</summary>
    public static PathClassifier Standard { get; } = new([], TransformationTable.Standard);

    public TransformationTable Table { get; }

    public IReadOnlyList<IPNetwork> TrustedSegments => _trustedSegments;

    /// <summary>
    /// Same domain → same VM; same host and same group → engine; both VM (or, lacking those, host) addresses inside one trusted
    /// segment → trusted; everything else is untrusted and sealed (the safe default: no segment is trusted unless configured).
    /// </summary>
    public PathClass Classify(DirectoryEntry source, DirectoryEntry destination)
    {
        if (string.Equals(source.Domain, destination.Domain, StringComparison.Ordinal))
        {
            return PathClass.SameVm;
        }

        return IsEngineReachable(source, destination) ? PathClass.SameHost : ClassifyNetwork(source, destination, out _);
    }

    /// <summary>
    /// Path, actions, fallback and reason. <paramref name="destinationProtection"/> is the destination group's level: a
    /// group whose protection is "authenticated" has its packets authenticated instead of sealed wherever the table seals.
    /// </summary>
    public PathDecision Decide(DirectoryEntry source, DirectoryEntry destination, ProtectionLevel destinationProtection)
    {
        if (string.Equals(source.Domain, destination.Domain, StringComparison.Ordinal))
        {
            return new PathDecision(PathClass.SameVm, Table.ActionsFor(PathClass.SameVm), [], $"both apps run on {source.Domain}: its kernel delivers");
        }

        var network = ClassifyNetwork(source, destination, out var segment);
        var networkActions = Protect(Table.ActionsFor(network), destinationProtection);
        var networkReason = network == PathClass.TrustedSegment
            ? $"{Where(source)} and {Where(destination)} are inside trusted segment {segment}"
            : $"no trusted segment holds both {Where(source)} and {Where(destination)}";
        if (IsEngineReachable(source, destination))
        {
            return new PathDecision(PathClass.SameHost, Protect(Table.ActionsFor(PathClass.SameHost), destinationProtection), networkActions,
                $"{source.Domain} and {destination.Domain} share host {source.Host} and group {source.Group}: the engine's ring (without it: {networkReason})");
        }

        return new PathDecision(network, networkActions, [], networkReason);
    }

    // The engine's back channel is one region per group: two groups on one host still meet on the network.
    private static bool IsEngineReachable(DirectoryEntry source, DirectoryEntry destination) =>
        source.Host.Length > 0 && string.Equals(source.Host, destination.Host, StringComparison.Ordinal)
        && string.Equals(source.Group, destination.Group, StringComparison.Ordinal);

    private PathClass ClassifyNetwork(DirectoryEntry source, DirectoryEntry destination, out IPNetwork segment)
    {
        var a = source.DomainAddress ?? source.HostAddress;
        var b = destination.DomainAddress ?? destination.HostAddress;
        if (a is not null && b is not null)
        {
            foreach (var candidate in _trustedSegments)
            {
                if (candidate.Contains(a) && candidate.Contains(b))
                {
                    segment = candidate;
                    return PathClass.TrustedSegment;
                }
            }
        }

        segment = default;
        return PathClass.Untrusted;
    }

    private static string Where(DirectoryEntry entry) =>
        $"{entry.Domain} ({(entry.DomainAddress ?? entry.HostAddress)?.ToString() ?? "address unknown"})";

    private static IReadOnlyList<TransformAction> Protect(IReadOnlyList<TransformAction> actions, ProtectionLevel protection)
    {
        if (protection != ProtectionLevel.Authenticated)
        {
            return actions;
        }

        var list = new TransformAction[actions.Count];
        for (var i = 0; i < list.Length; i++)
        {
            list[i] = actions[i] == TransformAction.Seal ? TransformAction.Authenticate : actions[i];
        }

        return list;
    }
}
