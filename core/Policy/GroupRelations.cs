using OverlayKvm.Core.Model.Validation;
using OverlayKvm.Core.Store;

namespace OverlayKvm.Core.Policy;

/// <summary>
/// Which pairs of groups may ever exchange traffic: two groups are related when an allow policy attached to one
/// of them (or to an ancestor) has a sender term that can match a member of the other (group or sub-group, an
/// app of it, a CIDR overlapping its address space, "any"), or when the between-groups default is allow.
/// This is the directory's reachability decision (seed 003: resolution decides whether a peer can be reached at
/// all); protocol and port are decided per flow by the agents' negotiation (seed 004). Only related groups see
/// each other's members and receive per-sender keys for each other, so a group no policy opens to stays
/// invisible and cryptographically unreachable. Negated terms only narrow a policy, so they never relate groups.
/// </summary>
public static class GroupRelations
{
    /// <summary>Symmetric relation: for each group, the other groups related to it (never itself).</summary>
    public static IReadOnlyDictionary<string, SortedSet<string>> Compute(StoreSnapshot snapshot, PolicyDefaults defaults)
    {
        var related = new Dictionary<string, SortedSet<string>>(StringComparer.Ordinal);
        var parents = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var row in snapshot.GroupParents)
        {
            parents[row.Group] = row.Parent;
        }

        var names = new List<string>(snapshot.Groups.Count);
        foreach (var group in snapshot.Groups)
        {
            names.Add(group.Name);
            related[group.Name] = new SortedSet<string>(StringComparer.Ordinal);
        }

        void Relate(string a, string b)
        {
            if (!string.Equals(a, b, StringComparison.Ordinal) && related.TryGetValue(a, out var ra) && related.TryGetValue(b, out var rb))
            {
                ra.Add(b);
                rb.Add(a);
            }
        }

        if (defaults.BetweenGroups == PolicyVerdict.Allow)
        {
            foreach (var a in names)
            {
                foreach (var b in names)
                {
                    Relate(a, b);
                }
            }

            return related;
        }

        foreach (var policy in snapshot.Policies)
        {
            var definition = policy.Definition;
            if (definition.Verdict != PolicyVerdict.Allow)
            {
                continue;
            }

            foreach (var destination in snapshot.Groups)
            {
                if (!Within(destination.Name, definition.DestinationGroup, parents))
                {
                    continue;
                }

                foreach (var source in snapshot.Groups)
                {
                    if (CanMatch(definition.Senders, source, parents))
                    {
                        Relate(destination.Name, source.Name);
                    }
                }
            }
        }

        return related;
    }

    private static bool CanMatch(IReadOnlyList<PolicySender> senders, Model.ApplicationGroup source, Dictionary<string, string> parents)
    {
        foreach (var sender in senders)
        {
            if (sender.Negated)
            {
                continue;
            }

            var matches = sender.Kind switch
            {
                SenderKind.Any => true,
                SenderKind.Group => sender.Group is { } g && Within(source.Name, g, parents),
                SenderKind.App => string.Equals(sender.Group, source.Name, StringComparison.Ordinal),
                SenderKind.Cidr => sender.Cidr is { } cidr && AddressMath.Overlaps(cidr, source.AddressSpace),
                _ => false,
            };
            if (matches)
            {
                return true;
            }
        }

        return false;
    }

    private static bool Within(string group, string ancestor, Dictionary<string, string> parents) =>
        string.Equals(group, ancestor, StringComparison.Ordinal) || PolicyRules.IsBelow(group, ancestor, parents);
}
