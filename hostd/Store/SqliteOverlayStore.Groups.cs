using System.Net;
using Microsoft.Data.Sqlite;
using OverlayKvm.Core.Credentials;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.Model.Validation;
using OverlayKvm.Core.Store;

namespace OverlayKvm.HostDaemon.Store;

public sealed partial class SqliteOverlayStore
{
    /// <inheritdoc/>
    public ApplicationGroup DefineGroup(string name, IPNetwork addressSpace, ProtectionLevel protection, GroupCipher cipher = GroupCipher.ChaCha20Poly1305)
    {
        GroupStoreRules.CheckDefinition(name, addressSpace, protection, cipher);

        return Write(scope =>
        {
            var existing = LoadGroups(scope);
            foreach (var group in existing)
            {
                if (string.Equals(group.Name, name, StringComparison.Ordinal))
                {
                    throw GroupStoreRules.GroupExists(name);
                }
            }

            AddressSpaceRules.CheckNoOverlap(name, addressSpace, existing);
            var id = (long)scope.Scalar(
                "INSERT INTO groups (name, address_space, protection, cipher, version) VALUES ($n, $s, $p, $c, $v) RETURNING id",
                ("$n", name), ("$s", addressSpace.ToString()), ("$p", (int)protection), ("$c", (int)cipher), ("$v", scope.Version))!;
            InsertCredential(scope, id, new GroupCredential(name, 1, GroupKeyGenerator.NewKey(), scope.Now, null));
            scope.MarkChanged();
            return new ApplicationGroup(name, addressSpace, protection, scope.Version) { Number = checked((int)id), Cipher = cipher };
        });
    }

    /// <inheritdoc/>
    public ApplicationGroup SetGroupProtection(string name, ProtectionLevel protection)
    {
        GroupStoreRules.CheckProtection(name, protection);
        return Write(scope =>
        {
            var group = FindGroup(scope, name) ?? throw new EntityNotFoundException("group", name);
            if (group.Protection == protection)
            {
                return group;
            }

            scope.Execute("UPDATE groups SET protection = $p, version = $v WHERE id = $g", ("$p", (int)protection), ("$v", scope.Version), ("$g", group.Number));
            scope.MarkChanged();
            return group with { Protection = protection, Version = scope.Version };
        });
    }

    /// <inheritdoc/>
    public IReadOnlyList<ApplicationGroup> ListGroups()
    {
        using var connection = OpenReader();
        return LoadGroups(connection, null);
    }

    /// <inheritdoc/>
    public ApplicationGroup? GetGroup(string name) =>
        ReadOne($"SELECT {SqliteRows.GroupColumns} FROM groups WHERE name = $n", SqliteRows.ReadGroup, ("$n", name));

    /// <inheritdoc/>
    public void UndefineGroup(string name)
    {
        Write(scope =>
        {
            var group = FindGroup(scope, name) ?? throw new EntityNotFoundException("group", name);
            var apps = (long)scope.Scalar("SELECT COUNT(*) FROM applications WHERE group_id = $g", ("$g", group.Number))!;
            if (apps > 0)
            {
                throw GroupStoreRules.GroupHasApps(name, apps);
            }

            ReleaseGroupReferences(scope, name, group.Number);
            scope.Execute("DELETE FROM credentials WHERE group_id = $g", ("$g", group.Number));
            ForgetEngineSwitch(scope, name);
            scope.Execute("DELETE FROM groups WHERE id = $g", ("$g", group.Number));
            scope.MarkChanged();
            return 0;
        });
    }


    private static List<ApplicationGroup> LoadGroups(WriteScope scope)
    {
        using var command = scope.Command($"SELECT {SqliteRows.GroupColumns} FROM groups ORDER BY name");
        return ReadAll(command, SqliteRows.ReadGroup);
    }

    private static List<ApplicationGroup> LoadGroups(SqliteConnection connection, SqliteTransaction? transaction) =>
        ReadAll(connection, transaction, $"SELECT {SqliteRows.GroupColumns} FROM groups ORDER BY name", SqliteRows.ReadGroup);

    private static ApplicationGroup? FindGroup(WriteScope scope, string name)
    {
        using var command = scope.Command($"SELECT {SqliteRows.GroupColumns} FROM groups WHERE name = $n", ("$n", name));
        using var reader = command.ExecuteReader();
        return reader.Read() ? SqliteRows.ReadGroup(reader) : null;
    }

    /// <summary>A change to a group's members or keys changes every document that lists the group.</summary>
    private static void StampGroup(WriteScope scope, int groupNumber) =>
        scope.Execute("UPDATE groups SET version = $v WHERE id = $g", ("$v", scope.Version), ("$g", groupNumber));
}
