namespace OverlayKvm.HostDaemon.Store;

/// <summary>
/// Operator switches kept as <c>meta</c> rows, <c>PREFIX/NAME</c> → the version that set them (engine-disable,
/// domain-pin): no schema change, and a row whose group or domain is gone is never listed.
/// </summary>
public sealed partial class SqliteOverlayStore
{
    /// <param name="table">"groups" or "domains": a constant of this class, never input.</param>
    private List<string> ListSwitchedOn(string prefix, string table)
    {
        using var connection = OpenReader();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT t.name FROM meta m JOIN {table} t ON m.key = $p || t.name ORDER BY t.name";
        command.Parameters.AddWithValue("$p", prefix);
        using var reader = command.ExecuteReader();
        var names = new List<string>();
        while (reader.Read())
        {
            names.Add(reader.GetString(0));
        }
        return names;
    }

    /// <summary>Sets or clears one switch inside the write; 1 when it changed (the write commits a version), else 0.</summary>
    private static int SetSwitch(WriteScope scope, string key, bool on)
    {
        bool now = scope.Scalar("SELECT 1 FROM meta WHERE key = $k", ("$k", key)) is not null;
        if (now == on)
        {
            return 0;
        }
        if (on)
        {
            scope.Execute("INSERT INTO meta (key, value) VALUES ($k, $v)", ("$k", key), ("$v", scope.Version));
        }
        else
        {
            scope.Execute("DELETE FROM meta WHERE key = $k", ("$k", key));
        }
        scope.MarkChanged();
        return 1;
    }
}
