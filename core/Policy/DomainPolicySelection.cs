using OverlayKvm.Core.Store;

namespace OverlayKvm.Core.Policy;

/// <summary>
/// Which policies and nesting rows a domain's document carries: the policies attached to the domain's groups
/// or their ancestors (what its agent enforces on receipt), the nesting rows above its groups, and the rows
/// below every group those policies name as a sender (so "member of G2" can be decided for a sub-group of G2).
/// Nothing else: other groups' policies stay with the daemon.
/// </summary>
public static class DomainPolicySelection
{
    public sealed record Selection(IReadOnlyList<PolicyConfig> Policies, IReadOnlyList<GroupParentConfig> GroupParents, long Version);

    public static Selection Select(StoreSnapshot snapshot, IReadOnlyCollection<string> localGroups)
    {
        var parents = new Dictionary<string, string>(snapshot.GroupParents.Count, StringComparer.Ordinal);
        foreach (var row in snapshot.GroupParents)
        {
            parents[row.Group] = row.Parent;
        }

        // The local groups and everything above them: policies attached there apply here.
        var above = new HashSet<string>(StringComparer.Ordinal);
        foreach (var group in localGroups)
        {
            var current = group;
            for (var step = 0; step <= PolicyRules.MaxNestingDepth && above.Add(current); step++)
            {
                if (!parents.TryGetValue(current, out var next))
                {
                    break;
                }

                current = next;
            }
        }

        long version = 0;
        var policies = new List<PolicyConfig>();
        var senderGroups = new HashSet<string>(StringComparer.Ordinal);
        foreach (var policy in snapshot.Policies)
        {
            if (!above.Contains(policy.DestinationGroup))
            {
                continue;
            }

            policies.Add(PolicyConfigConversion.ToConfig(policy));
            version = Math.Max(version, policy.Version);
            foreach (var sender in policy.Definition.Senders)
            {
                if (sender.Kind == SenderKind.Group && sender.Group is { } name)
                {
                    senderGroups.Add(name);
                }
            }
        }

        policies.Sort(static (a, b) => a.Id.CompareTo(b.Id));
        var rows = new List<GroupParentConfig>();
        foreach (var row in snapshot.GroupParents)
        {
            var needed = above.Contains(row.Group);
            if (!needed)
            {
                foreach (var sender in senderGroups)
                {
                    if (!string.Equals(row.Group, sender, StringComparison.Ordinal) && PolicyRules.IsBelow(row.Group, sender, parents))
                    {
                        needed = true;
                        break;
                    }
                }
            }

            if (needed)
            {
                rows.Add(new GroupParentConfig(row.Group, row.Parent));
                version = Math.Max(version, row.Version);
            }
        }

        rows.Sort(static (a, b) => string.CompareOrdinal(a.Group, b.Group));
        return new Selection(policies, rows, version);
    }
}
