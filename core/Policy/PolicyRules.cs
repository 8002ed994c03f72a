using OverlayKvm.Core.Model.Validation;
using OverlayKvm.Core.Store;

namespace OverlayKvm.Core.Policy;

/// <summary>
/// Checks of policies and group nesting that need no store: shape of a definition, and whether a new parent
/// would make a cycle or a chain deeper than <see cref="MaxNestingDepth"/>. Stores call these inside the
/// write transaction, with the current nesting, so two writers cannot together build a cycle.
/// </summary>
public static class PolicyRules
{
    /// <summary>Longest parent chain (groups above a group). Bounds the evaluator's walk up the chain.</summary>
    public const int MaxNestingDepth = 16;

    public const int MaxSenders = 64;

    /// <summary>Shape of a definition: names, sender count, ports only with tcp/udp, no sender listed twice.</summary>
    public static void CheckDefinition(PolicyDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        NameRules.Check("policy destination group", definition.DestinationGroup);
        var field = $"policy for {definition.DestinationGroup}";
        if (!Enum.IsDefined(definition.Protocol))
        {
            throw new ModelValidationException($"{field}: protocol", $"{(int)definition.Protocol} is not one of tcp, udp, icmp, any");
        }

        if (!Enum.IsDefined(definition.Verdict))
        {
            throw new ModelValidationException($"{field}: verdict", $"{(int)definition.Verdict} is not one of allow, deny");
        }

        if (definition.Ports is { } ports)
        {
            if (definition.Protocol is not (PolicyProtocol.Tcp or PolicyProtocol.Udp))
            {
                throw new ModelValidationException($"{field}: ports", $"{ports} needs --proto tcp or udp ({PolicyText.FormatProtocol(definition.Protocol)} has no ports)");
            }

            if (ports.First == 0 || ports.First > ports.Last)
            {
                throw new ModelValidationException($"{field}: ports", $"{ports.First}-{ports.Last} is not a range of ports from 1 to 65535");
            }
        }

        var senders = definition.Senders;
        if (senders is null || senders.Count == 0)
        {
            throw new ModelValidationException($"{field}: senders", "are missing; name at least one (--from GROUP, GROUP/APP, CIDR, any, not:...)");
        }

        if (senders.Count > MaxSenders)
        {
            throw new ModelValidationException($"{field}: senders", $"{senders.Count} are listed; at most {MaxSenders} are allowed");
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < senders.Count; i++)
        {
            var sender = senders[i] ?? throw new ModelValidationException($"{field}: sender[{i}]", "is null");
            CheckSender($"{field}: sender[{i}]", sender);
            if (!seen.Add(PolicyText.FormatSender(sender)))
            {
                throw new ModelValidationException($"{field}: sender[{i}]", $"{sender} is listed twice");
            }

            var opposite = sender with { Negated = !sender.Negated };
            if (seen.Contains(PolicyText.FormatSender(opposite)))
            {
                throw new ModelValidationException($"{field}: sender[{i}]", $"{sender} is both included and excluded");
            }
        }
    }

    /// <summary>The groups a definition names (destination first, then sender groups), each once.</summary>
    public static IReadOnlyList<string> NamedGroups(PolicyDefinition definition)
    {
        var names = new List<string> { definition.DestinationGroup };
        foreach (var sender in definition.Senders)
        {
            if (sender.Group is { } group && !names.Contains(group))
            {
                names.Add(group);
            }
        }

        return names;
    }

    /// <summary>
    /// Refuses nesting <paramref name="group"/> under <paramref name="parent"/> when that makes a cycle or a
    /// chain longer than <see cref="MaxNestingDepth"/>. <paramref name="parents"/> is the current nesting (child → parent).
    /// </summary>
    public static void CheckParent(string group, string parent, IReadOnlyDictionary<string, string> parents)
    {
        var field = $"group {group}: parent";
        if (string.Equals(group, parent, StringComparison.Ordinal))
        {
            throw new ModelValidationException(field, "a group cannot be its own parent");
        }

        if (IsBelow(parent, group, parents))
        {
            throw new ModelValidationException(field, $"{parent} is a sub-group of {group}; nesting {group} under it would make a cycle") { IsConflict = true };
        }

        // Groups above the group once nested: the parent and its own ancestors.
        var depthAbove = 1;
        var current = parent;
        while (depthAbove <= MaxNestingDepth && parents.TryGetValue(current, out var above))
        {
            depthAbove++;
            current = above;
        }

        var heightBelow = Height(group, parents);
        if (depthAbove + heightBelow > MaxNestingDepth)
        {
            throw new ModelValidationException(field,
                $"nesting {group} under {parent} puts {depthAbove + heightBelow} groups above its deepest sub-group; at most {MaxNestingDepth} are allowed") { IsConflict = true };
        }
    }

    /// <summary>True when <paramref name="group"/> is <paramref name="ancestor"/> or one of its sub-groups (bounded walk).</summary>
    public static bool IsBelow(string group, string ancestor, IReadOnlyDictionary<string, string> parents)
    {
        var current = group;
        for (var step = 0; step <= MaxNestingDepth + 1; step++)
        {
            if (string.Equals(current, ancestor, StringComparison.Ordinal))
            {
                return true;
            }

            if (!parents.TryGetValue(current, out var above))
            {
                return false;
            }

            current = above;
        }

        return false;
    }

    private static void CheckSender(string field, PolicySender sender)
    {
        switch (sender.Kind)
        {
            case SenderKind.Any:
                if (sender.Negated)
                {
                    throw new ModelValidationException(field, "'not:any' excludes every sender; remove the policy instead");
                }

                break;
            case SenderKind.Group:
                NameRules.Check($"{field}: group", sender.Group);
                break;
            case SenderKind.App:
                NameRules.Check($"{field}: group", sender.Group);
                NameRules.Check($"{field}: app", sender.App);
                break;
            case SenderKind.Cidr:
                if (sender.Cidr is not { } cidr)
                {
                    throw new ModelValidationException(field, "a CIDR sender needs its range");
                }

                PolicyText.ParseCidr(field, cidr.ToString());
                break;
            default:
                throw new ModelValidationException(field, $"{(int)sender.Kind} is not a sender kind");
        }
    }

    /// <summary>Levels of sub-groups below <paramref name="group"/> (0 for a group without sub-groups).</summary>
    private static int Height(string group, IReadOnlyDictionary<string, string> parents)
    {
        var height = 0;
        foreach (var (child, _) in parents)
        {
            // Depth of child below group, if it is below it at all.
            var depth = 0;
            var current = child;
            while (depth <= MaxNestingDepth + 1 && !string.Equals(current, group, StringComparison.Ordinal))
            {
                if (!parents.TryGetValue(current, out var above))
                {
                    depth = -1;
                    break;
                }

                current = above;
                depth++;
            }

            if (depth > height)
            {
                height = depth;
            }
        }

        return height;
    }
}
