using OverlayKvm.Core.Policy;
using OverlayKvm.Core.Store;

namespace OverlayKvm.HostDaemon.Store.Etcd;

public sealed partial class EtcdOverlayStore
{
    /// <inheritdoc/>
    /// <remarks>Stamps the destination group and every group nested below it, as the SQLite store does.</remarks>
    public AccessPolicy AddPolicy(PolicyDefinition definition)
    {
        PolicyRules.CheckDefinition(definition);
        return Write(scope =>
        {
            var model = scope.Model;
            RequireGroup(model, definition.DestinationGroup);
            foreach (var name in PolicyRules.NamedGroups(definition))
            {
                RequireGroup(model, name);
            }

            PolicyStoreRules.CheckNotDuplicate(definition, model.Policies.Values);

            var policy = new AccessPolicy(scope.TakePolicyId(), definition with { Senders = [.. definition.Senders] }, scope.Version);
            scope.Put(policy);
            StampGroupTree(scope, definition.DestinationGroup);
            return policy;
        });
    }

    /// <inheritdoc/>
    public IReadOnlyList<AccessPolicy> ListPolicies(string? destinationGroup = null)
    {
        var model = Model;
        if (destinationGroup is null)
        {
            return [.. model.Policies.Values];
        }

        RequireGroup(model, destinationGroup);
        var list = new List<AccessPolicy>();
        foreach (var policy in model.Policies.Values)
        {
            if (string.Equals(policy.DestinationGroup, destinationGroup, StringComparison.Ordinal))
            {
                list.Add(policy);
            }
        }

        return list;
    }

    /// <inheritdoc/>
    public AccessPolicy? GetPolicy(long id) => Model.Policies.GetValueOrDefault(id);

    /// <inheritdoc/>
    public void RemovePolicy(long id)
    {
        Write(scope =>
        {
            var policy = scope.Model.Policies.GetValueOrDefault(id)
                ?? throw new EntityNotFoundException("policy", id.ToString(System.Globalization.CultureInfo.InvariantCulture));
            scope.Delete(scope.Keys.Policy(id));
            StampGroupTree(scope, policy.DestinationGroup);
            return 0;
        });
    }

    /// <inheritdoc/>
    /// <remarks>Same parent again commits nothing; un-nesting a group that has no parent commits nothing.</remarks>
    public GroupParent? SetGroupParent(string group, string? parent)
    {
        PolicyStoreRules.CheckNestingNames(group, parent);

        return Write(scope =>
        {
            RequireGroup(scope.Model, group);
            var nesting = ParentNames(scope.Model);
            if (parent is null)
            {
                if (nesting.ContainsKey(group))
                {
                    StampSenderPolicyDestinations(scope, group, nesting);
                    scope.Delete(scope.Keys.Parent(group));
                    StampGroupTree(scope, group);
                }

                return null;
            }

            RequireGroup(scope.Model, parent);
            if (nesting.TryGetValue(group, out var current) && string.Equals(current, parent, StringComparison.Ordinal))
            {
                return scope.Model.Parents[group];
            }

            PolicyRules.CheckParent(group, parent, nesting);
            StampSenderPolicyDestinations(scope, group, nesting);
            nesting[group] = parent;
            StampSenderPolicyDestinations(scope, group, nesting);
            var row = new GroupParent(group, parent, scope.Version);
            scope.Put(row);
            StampGroupTree(scope, group);
            return row;
        });
    }

    /// <inheritdoc/>
    public IReadOnlyList<GroupParent> ListGroupParents() => [.. Model.Parents.Values];

    private static Dictionary<string, string> ParentNames(EtcdStoreModel model)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var row in model.Parents.Values)
        {
            result[row.Group] = row.Parent;
        }

        return result;
    }

    /// <summary>Refuses to undefine a group that policies or sub-groups still name; drops its own nesting row.</summary>
    private static void ReleaseGroupReferences(EtcdWriteScope scope, string name)
    {
        var children = new List<string>();
        foreach (var row in scope.Model.Parents.Values)
        {
            if (string.Equals(row.Parent, name, StringComparison.Ordinal))
            {
                children.Add(row.Group);
            }
        }

        PolicyStoreRules.CheckUnreferenced(name, children, scope.Model.Policies.Values);
        var nesting = ParentNames(scope.Model);
        if (nesting.ContainsKey(name))
        {
            StampSenderPolicyDestinations(scope, name, nesting);
            scope.Delete(scope.Keys.Parent(name));
        }
    }

    /// <summary>Stamps the destinations of policies naming an ancestor of <paramref name="group"/> (see <see cref="PolicyStoreRules.SenderPolicyDestinations"/>).</summary>
    private static void StampSenderPolicyDestinations(EtcdWriteScope scope, string group, Dictionary<string, string> nesting)
    {
        foreach (var destination in PolicyStoreRules.SenderPolicyDestinations(group, nesting, scope.Model.Policies.Values))
        {
            if (scope.Model.Groups.ContainsKey(destination))
            {
                StampGroupTree(scope, destination);
            }
        }
    }

    /// <summary>Stamps a group and every group nested below it (their effective policies changed).</summary>
    private static void StampGroupTree(EtcdWriteScope scope, string group)
    {
        var pending = new Queue<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        pending.Enqueue(group);
        while (pending.TryDequeue(out var current))
        {
            if (!seen.Add(current))
            {
                continue;
            }

            scope.StampGroup(current);
            foreach (var row in scope.Model.Parents.Values)
            {
                if (string.Equals(row.Parent, current, StringComparison.Ordinal))
                {
                    pending.Enqueue(row.Group);
                }
            }
        }
    }
}
