using Microsoft.Data.Sqlite;
using OverlayKvm.Core.Policy;
using OverlayKvm.Core.Store;

namespace OverlayKvm.HostDaemon.Store;

public sealed partial class SqliteOverlayStore
{
    private const string PolicySelect =
        "SELECT p.id, g.name, p.senders, p.protocol, p.port_first, p.port_last, p.verdict, p.version FROM policies p JOIN groups g ON g.id = p.destination_id";

    private const string GroupParentSelect =
        "SELECT c.name, p.name, gp.version FROM group_parents gp JOIN groups c ON c.id = gp.group_id JOIN groups p ON p.id = gp.parent_id";

    /// <inheritdoc/>
    /// <remarks>
    /// Stamps the destination group and every group nested below it: their members' documents carry the
    /// policy, so their versions must rise (and the same on removal, when the row is gone).
    /// </remarks>
    public AccessPolicy AddPolicy(PolicyDefinition definition)
    {
        PolicyRules.CheckDefinition(definition);
        var senders = SqliteRows.WriteSenders(definition.Senders);
        return Write(scope =>
        {
            var destination = FindGroup(scope, definition.DestinationGroup) ?? throw new EntityNotFoundException("group", definition.DestinationGroup);
            foreach (var name in PolicyRules.NamedGroups(definition))
            {
                if (FindGroup(scope, name) is null)
                {
                    throw new EntityNotFoundException("group", name);
                }
            }

            using (var existing = scope.Command($"{PolicySelect} WHERE p.destination_id = $d ORDER BY p.id", ("$d", destination.Number)))
            {
                PolicyStoreRules.CheckNotDuplicate(definition, ReadAll(existing, SqliteRows.ReadPolicy));
            }

            var (first, last) = (definition.Ports?.First, definition.Ports?.Last);
            var id = (long)scope.Scalar(
                "INSERT INTO policies (destination_id, senders, protocol, port_first, port_last, verdict, version) VALUES ($d, $s, $p, $f, $l, $v, $ver) RETURNING id",
                ("$d", destination.Number), ("$s", senders), ("$p", (int)definition.Protocol), ("$f", (int?)first), ("$l", (int?)last),
                ("$v", (int)definition.Verdict), ("$ver", scope.Version))!;
            StampGroupTree(scope, destination.Number);
            scope.MarkChanged();
            return new AccessPolicy(id, definition with { Senders = [.. definition.Senders] }, scope.Version);
        });
    }

    /// <inheritdoc/>
    public IReadOnlyList<AccessPolicy> ListPolicies(string? destinationGroup = null)
    {
        using var connection = OpenReader();
        if (destinationGroup is null)
        {
            return LoadPolicies(connection, null);
        }

        using var command = connection.CreateCommand();
        command.CommandText = "SELECT 1 FROM groups WHERE name = $n";
        command.Parameters.AddWithValue("$n", destinationGroup);
        if (command.ExecuteScalar() is null)
        {
            throw new EntityNotFoundException("group", destinationGroup);
        }

        command.CommandText = $"{PolicySelect} WHERE g.name = $n ORDER BY p.id";
        return ReadAll(command, SqliteRows.ReadPolicy);
    }

    /// <inheritdoc/>
    public AccessPolicy? GetPolicy(long id) =>
        ReadOne($"{PolicySelect} WHERE p.id = $id", SqliteRows.ReadPolicy, ("$id", id));

    /// <inheritdoc/>
    public void RemovePolicy(long id)
    {
        Write(scope =>
        {
            var destination = scope.Scalar("DELETE FROM policies WHERE id = $id RETURNING destination_id", ("$id", id)) as long?
                ?? throw new EntityNotFoundException("policy", id.ToString(System.Globalization.CultureInfo.InvariantCulture));
            StampGroupTree(scope, destination);
            scope.MarkChanged();
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
            var child = FindGroup(scope, group) ?? throw new EntityNotFoundException("group", group);
            var nesting = LoadParentNames(scope);
            if (parent is null)
            {
                if (nesting.ContainsKey(group))
                {
                    StampSenderPolicyDestinations(scope, group, nesting);
                    scope.Execute("DELETE FROM group_parents WHERE group_id = $g", ("$g", child.Number));
                    StampGroupTree(scope, child.Number);
                    scope.MarkChanged();
                }

                return null;
            }

            var above = FindGroup(scope, parent) ?? throw new EntityNotFoundException("group", parent);
            if (nesting.TryGetValue(group, out var current) && string.Equals(current, parent, StringComparison.Ordinal))
            {
                return new GroupParent(group, parent, (long)scope.Scalar("SELECT version FROM group_parents WHERE group_id = $g", ("$g", child.Number))!);
            }

            PolicyRules.CheckParent(group, parent, nesting);
            StampSenderPolicyDestinations(scope, group, nesting);
            nesting[group] = parent;
            StampSenderPolicyDestinations(scope, group, nesting);
            scope.Execute(
                "INSERT INTO group_parents (group_id, parent_id, version) VALUES ($g, $p, $v) ON CONFLICT (group_id) DO UPDATE SET parent_id = excluded.parent_id, version = excluded.version",
                ("$g", child.Number), ("$p", above.Number), ("$v", scope.Version));
            StampGroupTree(scope, child.Number);
            scope.MarkChanged();
            return new GroupParent(group, parent, scope.Version);
        });
    }

    /// <inheritdoc/>
    public IReadOnlyList<GroupParent> ListGroupParents()
    {
        using var connection = OpenReader();
        return LoadGroupParents(connection, null);
    }

    /// <summary>Refuses to undefine a group that policies or sub-groups still name; drops its own nesting row.</summary>
    private static void ReleaseGroupReferences(WriteScope scope, string name, int groupNumber)
    {
        var children = new List<string>();
        using (var command = scope.Command("SELECT c.name FROM group_parents gp JOIN groups c ON c.id = gp.group_id WHERE gp.parent_id = $g ORDER BY c.name", ("$g", groupNumber)))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                children.Add(reader.GetString(0));
            }
        }

        PolicyStoreRules.CheckUnreferenced(name, children, ReadPolicies(scope));

        var nesting = LoadParentNames(scope);
        if (nesting.ContainsKey(name))
        {
            StampSenderPolicyDestinations(scope, name, nesting);
            scope.Execute("DELETE FROM group_parents WHERE group_id = $g", ("$g", groupNumber));
        }
    }

    /// <summary>Stamps the destinations of policies naming an ancestor of <paramref name="group"/> (see <see cref="PolicyStoreRules.SenderPolicyDestinations"/>).</summary>
    private static void StampSenderPolicyDestinations(WriteScope scope, string group, Dictionary<string, string> nesting)
    {
        foreach (var destination in PolicyStoreRules.SenderPolicyDestinations(group, nesting, ReadPolicies(scope)))
        {
            if (FindGroup(scope, destination) is { } found)
            {
                StampGroupTree(scope, found.Number);
            }
        }
    }

    /// <summary>Every policy in the write transaction's view, read only as far as the caller enumerates.</summary>
    private static IEnumerable<AccessPolicy> ReadPolicies(WriteScope scope)
    {
        using var command = scope.Command($"{PolicySelect} ORDER BY p.id");
        foreach (var policy in ReadAll(command, SqliteRows.ReadPolicy))
        {
            yield return policy;
        }
    }

    /// <summary>Stamps a group and every group nested below it (their effective policies changed).</summary>
    private static void StampGroupTree(WriteScope scope, long groupNumber) =>
        scope.Execute(
            """
            WITH RECURSIVE tree (id) AS (
                SELECT $g UNION SELECT gp.group_id FROM group_parents gp JOIN tree t ON gp.parent_id = t.id
            )
            UPDATE groups SET version = $v WHERE id IN (SELECT id FROM tree)
            """,
            ("$g", groupNumber), ("$v", scope.Version));

    private static Dictionary<string, string> LoadParentNames(WriteScope scope)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        using var command = scope.Command(GroupParentSelect);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            result[reader.GetString(0)] = reader.GetString(1);
        }

        return result;
    }

    private static List<AccessPolicy> LoadPolicies(SqliteConnection connection, SqliteTransaction? transaction) =>
        ReadAll(connection, transaction, $"{PolicySelect} ORDER BY p.id", SqliteRows.ReadPolicy);

    private static List<GroupParent> LoadGroupParents(SqliteConnection connection, SqliteTransaction? transaction) =>
        ReadAll(connection, transaction, $"{GroupParentSelect} ORDER BY c.name", SqliteRows.ReadGroupParent);
}
