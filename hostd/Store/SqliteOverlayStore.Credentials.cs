using Microsoft.Data.Sqlite;
using OverlayKvm.Core.Credentials;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.Store;

namespace OverlayKvm.HostDaemon.Store;

public sealed partial class SqliteOverlayStore
{
    private const string LiveCredential = "(c.retires_at IS NULL OR c.retires_at > $now)";

    /// <inheritdoc/>
    public IReadOnlyList<GroupCredential> GetCredentials(string group)
    {
        using var connection = OpenReader();
        using var command = connection.CreateCommand();
        command.CommandText =
            $"SELECT g.id, c.epoch, c.key, c.created_at, c.retires_at FROM groups g LEFT JOIN credentials c ON c.group_id = g.id AND {LiveCredential} WHERE g.name = $n ORDER BY c.epoch";
        command.Parameters.AddWithValue("$n", group);
        command.Parameters.AddWithValue("$now", _time.GetUtcNow().ToUnixTimeMilliseconds());
        var list = new List<GroupCredential>();
        var found = false;
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            found = true;
            if (!reader.IsDBNull(1))
            {
                list.Add(SqliteRows.ReadCredential(group, reader, offset: 1));
            }
        }

        return found ? list : throw new EntityNotFoundException("group", group);
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Also deletes epochs whose retirement has passed, so dead keys do not linger on disk, and stamps the group
    /// so every configuration document that carries its keys gets a new version.
    /// </remarks>
    public GroupCredential RotateCredentials(string group, TimeSpan grace)
    {
        CredentialRotation.CheckGrace(group, grace);
        return Write(scope =>
        {
            var owner = FindGroup(scope, group) ?? throw new EntityNotFoundException("group", group);
            var existing = new List<GroupCredential>();
            using (var command = scope.Command($"SELECT {SqliteRows.CredentialColumns} FROM credentials WHERE group_id = $g ORDER BY epoch", ("$g", owner.Number)))
            using (var reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    existing.Add(SqliteRows.ReadCredential(group, reader));
                }
            }

            var plan = CredentialRotation.Rotate(group, existing, scope.Now, grace);
            foreach (var retirement in plan.Retirements)
            {
                scope.Execute(
                    "UPDATE credentials SET retires_at = $r WHERE group_id = $g AND epoch = $e",
                    ("$r", retirement.RetiresAt.ToUnixTimeMilliseconds()), ("$g", owner.Number), ("$e", retirement.Epoch));
            }

            scope.Execute("DELETE FROM credentials WHERE group_id = $g AND retires_at <= $now", ("$g", owner.Number), ("$now", scope.Now.ToUnixTimeMilliseconds()));
            InsertCredential(scope, owner.Number, plan.NewCredential);
            StampGroup(scope, owner.Number);
            scope.MarkChanged();
            return plan.NewCredential;
        });
    }

    private static void InsertCredential(WriteScope scope, long groupId, GroupCredential credential) =>
        scope.Execute(
            "INSERT INTO credentials (group_id, epoch, key, created_at, retires_at) VALUES ($g, $e, $k, $c, $r)",
            ("$g", groupId), ("$e", credential.Epoch), ("$k", credential.Key),
            ("$c", credential.CreatedAt.ToUnixTimeMilliseconds()), ("$r", SqliteRows.ToDb(credential.RetiresAt)));

    private Dictionary<string, IReadOnlyList<GroupCredential>> LoadLiveCredentials(SqliteConnection connection, SqliteTransaction transaction)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText =
            $"SELECT g.name, c.epoch, c.key, c.created_at, c.retires_at FROM credentials c JOIN groups g ON g.id = c.group_id WHERE {LiveCredential} ORDER BY g.name, c.epoch";
        command.Parameters.AddWithValue("$now", _time.GetUtcNow().ToUnixTimeMilliseconds());
        var lists = new Dictionary<string, List<GroupCredential>>(StringComparer.Ordinal);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var group = reader.GetString(0);
            if (!lists.TryGetValue(group, out var list))
            {
                list = [];
                lists[group] = list;
            }

            list.Add(SqliteRows.ReadCredential(group, reader, offset: 1));
        }

        var result = new Dictionary<string, IReadOnlyList<GroupCredential>>(lists.Count, StringComparer.Ordinal);
        foreach (var (group, list) in lists)
        {
            result[group] = list.AsReadOnly();
        }

        return result;
    }
}
