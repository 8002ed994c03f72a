using OverlayKvm.Core.Model.Validation;
using OverlayKvm.Core.Store;

namespace OverlayKvm.HostDaemon.Store;

/// <summary>
/// engine-disable is an operator decision: kept in the store, not in the guest-writable region (issue 14 item 9).
/// One row in <c>meta</c> per switched-off group (<c>engine-disabled/GROUP</c> → the version that switched it off):
/// no schema change, and undefining the group removes it.
/// </summary>
public sealed partial class SqliteOverlayStore
{
    private const string EngineDisabledPrefix = "engine-disabled/";

    /// <inheritdoc/>
    public IReadOnlyCollection<string> ListEngineDisabledGroups()
    {
        using var connection = OpenReader();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT g.name FROM meta m JOIN groups g ON m.key = $p || g.name ORDER BY g.name";
        command.Parameters.AddWithValue("$p", EngineDisabledPrefix);
        using var reader = command.ExecuteReader();
        var groups = new List<string>();
        while (reader.Read())
        {
            groups.Add(reader.GetString(0));
        }
        return groups;
    }

    /// <inheritdoc/>
    public void SetEngineDisabled(string group, bool disabled)
    {
        NameRules.Check("group", group);
        Write(scope =>
        {
            _ = FindGroup(scope, group) ?? throw new EntityNotFoundException("group", group);
            string key = EngineDisabledPrefix + group;
            bool now = scope.Scalar("SELECT 1 FROM meta WHERE key = $k", ("$k", key)) is not null;
            if (now == disabled)
            {
                return 0;
            }
            if (disabled)
            {
                scope.Execute("INSERT INTO meta (key, value) VALUES ($k, $v)", ("$k", key), ("$v", scope.Version));
            }
            else
            {
                scope.Execute("DELETE FROM meta WHERE key = $k", ("$k", key));
            }
            scope.MarkChanged();
            return 1;
        });
    }

    private static void ForgetEngineSwitch(WriteScope scope, string group) =>
        scope.Execute("DELETE FROM meta WHERE key = $k", ("$k", EngineDisabledPrefix + group));
}
