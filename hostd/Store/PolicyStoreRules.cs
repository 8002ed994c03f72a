using OverlayKvm.Core.Policy;
using OverlayKvm.Core.Store;

namespace OverlayKvm.HostDaemon.Store;

/// <summary>
/// What the policy and nesting writes decide, for both stores: which policy is a duplicate, which references keep
/// a group from being undefined, and whose documents a change of nesting touches. Pure: each store passes the rows
/// it read and does its own reads and writes.
/// </summary>
internal static class PolicyStoreRules
{
    /// <summary>Validates the names of a nesting write (a null parent un-nests).</summary>
    public static void CheckNestingNames(string group, string? parent)
    {
        Core.Model.Validation.NameRules.Check("group", group);
        if (parent is not null)
        {
            Core.Model.Validation.NameRules.Check("parent group", parent);
        }
    }

    /// <summary>
    /// Refuses <paramref name="definition"/> when one of <paramref name="policies"/> is identical: same destination,
    /// protocol, ports, verdict and the same set of sender terms in any order.
    /// </summary>
    public static void CheckNotDuplicate(PolicyDefinition definition, IEnumerable<AccessPolicy> policies)
    {
        HashSet<string>? wanted = null;
        foreach (var other in policies)
        {
            var d = other.Definition;
            if (string.Equals(d.DestinationGroup, definition.DestinationGroup, StringComparison.Ordinal)
                && d.Protocol == definition.Protocol && d.Ports == definition.Ports && d.Verdict == definition.Verdict
                && SenderSet(d.Senders).SetEquals(wanted ??= SenderSet(definition.Senders)))
            {
                throw new ModelValidationException($"policy for {definition.DestinationGroup}", $"is identical to policy {other.Id}") { IsConflict = true };
            }
        }
    }

    /// <summary>Refuses to undefine group <paramref name="name"/> while sub-groups nest in it or policies name it.</summary>
    public static void CheckUnreferenced(string name, IReadOnlyList<string> children, IEnumerable<AccessPolicy> policies)
    {
        if (children.Count > 0)
        {
            throw new ModelValidationException($"group {name}", $"has sub-groups {string.Join(", ", children)}; un-nest them first (group-unnest)") { IsConflict = true };
        }

        foreach (var policy in policies)
        {
            var role = string.Equals(policy.DestinationGroup, name, StringComparison.Ordinal) ? "the destination"
                : PolicyRules.NamedGroups(policy.Definition).Contains(name) ? "a sender" : null;
            if (role is not null)
            {
                throw new ModelValidationException($"group {name}", $"is {role} of policy {policy.Id}; remove the policy first (policy-remove {policy.Id})") { IsConflict = true };
            }
        }
    }

    /// <summary>
    /// Documents carry the nesting rows below every group their policies name as a sender (to decide "member of G2"
    /// for G2's sub-groups). Moving <paramref name="group"/> changes those rows for every ancestor it has in
    /// <paramref name="nesting"/>: the destinations of policies naming one of them must be stamped so their documents
    /// get a new version. Called with the nesting before and after a change. Empty when the group has no parent.
    /// </summary>
    public static SortedSet<string> SenderPolicyDestinations(string group, Dictionary<string, string> nesting, IEnumerable<AccessPolicy> policies)
    {
        var destinations = new SortedSet<string>(StringComparer.Ordinal);
        var ancestors = new HashSet<string>(StringComparer.Ordinal);
        var current = group;
        while (ancestors.Count <= PolicyRules.MaxNestingDepth && nesting.TryGetValue(current, out var above) && ancestors.Add(above))
        {
            current = above;
        }

        if (ancestors.Count == 0)
        {
            return destinations;
        }

        foreach (var policy in policies)
        {
            foreach (var sender in policy.Definition.Senders)
            {
                if (sender.Kind == SenderKind.Group && sender.Group is { } name && ancestors.Contains(name))
                {
                    destinations.Add(policy.DestinationGroup);
                }
            }
        }

        return destinations;
    }

    private static HashSet<string> SenderSet(IReadOnlyList<PolicySender> senders)
    {
        var set = new HashSet<string>(StringComparer.Ordinal);
        foreach (var sender in senders)
        {
            set.Add(PolicyText.FormatSender(sender));
        }

        return set;
    }
}
