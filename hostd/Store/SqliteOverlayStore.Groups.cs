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
        NameRules.Check("group", name);
        AddressSpaceRules.CheckSpace($"group {name}: address space", addressSpace);
        CheckProtection(name, protection);
        CipherRules.Check(name, cipher);

        return Write(scope =>
        {
            var existing = LoadGroups(scope);
            foreach (var group in existing)
            {
                if (string.Equals(group.Name, name, StringComparison.Ordinal))
                {
                    throw new ModelValidationException($"group {name}", "is already defined") { IsConflict = true };
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
        NameRules.Check("group", name);
        CheckProtection(name, protection);
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
    public ApplicationGroup? GetGroup(string name)
    {
        using var connection = OpenReader();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {SqliteRows.GroupColumns} FROM groups WHERE name = $n";
        command.Parameters.AddWithValue("$n", name);
        using var reader = command.ExecuteReader();
        return reader.Read() ? SqliteRows.ReadGroup(reader) : null;
    }

    /// <inheritdoc/>
    public void UndefineGroup(string name)
    {
        Write(scope =>
        {
            var group = FindGroup(scope, name) ?? throw new EntityNotFoundException("group", name);
            var apps = (long)scope.Scalar("SELECT COUNT(*) FROM applications WHERE group_id = $g", ("$g", group.Number))!;
            if (apps > 0)
            {
                throw new ModelValidationException($"group {name}", $"still has {apps} application(s); undefine them first") { IsConflict = true };
            }

            ReleaseGroupReferences(scope, name, group.Number);
            scope.Execute("DELETE FROM credentials WHERE group_id = $g", ("$g", group.Number));
            ForgetEngineSwitch(scope, name);
            scope.Execute("DELETE FROM groups WHERE id = $g", ("$g", group.Number));
            scope.MarkChanged();
            return 0;
        });
    }

    private static void CheckProtection(string group, ProtectionLevel protection)
    {
        if (!Enum.IsDefined(protection))
        {
            throw new ModelValidationException($"group {group}: protection", $"{(int)protection} is not a known protection level");
        }
    }

    private static List<ApplicationGroup> LoadGroups(WriteScope scope)
    {
        using var command = scope.Command($"SELECT {SqliteRows.GroupColumns} FROM groups ORDER BY name");
        return ReadAll(command, SqliteRows.ReadGroup);
    }

    private static List<ApplicationGroup> LoadGroups(SqliteConnection connection, SqliteTransaction? transaction)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"SELECT {SqliteRows.GroupColumns} FROM groups ORDER BY name";
        return ReadAll(command, SqliteRows.ReadGroup);
    }

    private static ApplicationGroup? FindGroup(WriteScope scope, string name)
    {
        using var command = scope.Command($"SELECT {SqliteRows.GroupColumns} FROM groups WHERE name = $n", ("$n", name));
        using var reader = command.ExecuteReader();
        return reader.Read() ? SqliteRows.ReadGroup(reader) : null;
    }

    /// <summary>A change to a group's members or keys changes every document that lists the group.</summary>
    private static void StampGroup(WriteScope scope, int groupNumber) =>
        scope.Execute("UPDATE groups SET version = $v WHERE id = $g", ("$v", scope.Version), ("$g", groupNumber));

    private static List<T> ReadAll<T>(SqliteCommand command, Func<SqliteDataReader, T> read)
    {
        var list = new List<T>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            list.Add(read(reader));
        }

        return list;
    }
}
