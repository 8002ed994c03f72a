using OverlayKvm.Core.Model.Validation;
using OverlayKvm.Core.Store;

namespace OverlayKvm.HostDaemon.Store;

/// <summary>
/// Domains an operator pinned to their host (<c>domain-pin</c>, issue 15: rebalance never moves them). One row in
/// <c>meta</c> per pinned domain (<c>domain-pinned/NAME</c> → the version that pinned it), like the engine switches.
/// </summary>
public sealed partial class SqliteOverlayStore
{
    private const string DomainPinnedPrefix = "domain-pinned/";

    /// <inheritdoc/>
    public IReadOnlyCollection<string> ListPinnedDomains()
    {
        using var connection = OpenReader();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT d.name FROM meta m JOIN domains d ON m.key = $p || d.name ORDER BY d.name";
        command.Parameters.AddWithValue("$p", DomainPinnedPrefix);
        using var reader = command.ExecuteReader();
        var domains = new List<string>();
        while (reader.Read())
        {
            domains.Add(reader.GetString(0));
        }
        return domains;
    }

    /// <inheritdoc/>
    public void SetDomainPinned(string domain, bool pinned)
    {
        NameRules.Check("domain", domain);
        Write(scope =>
        {
            _ = FindDomain(scope, domain) ?? throw new EntityNotFoundException("domain", domain);
            string key = DomainPinnedPrefix + domain;
            bool now = scope.Scalar("SELECT 1 FROM meta WHERE key = $k", ("$k", key)) is not null;
            if (now == pinned)
            {
                return 0;
            }
            if (pinned)
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
}
