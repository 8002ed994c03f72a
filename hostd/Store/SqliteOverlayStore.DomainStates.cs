using OverlayKvm.Core.Model;
using OverlayKvm.Core.Model.Validation;
using OverlayKvm.Core.Store;

namespace OverlayKvm.HostDaemon.Store;

/// <summary>
/// Whether a domain's host saw it stopped (issue 15): one row in <c>meta</c> per stopped domain
/// (<c>domain-stopped/NAME</c> → the version that stopped it), like the engine switches, so no schema change.
/// </summary>
public sealed partial class SqliteOverlayStore
{
    private const string DomainStoppedPrefix = "domain-stopped/";

    /// <inheritdoc/>
    public DomainRecord SetDomainStopped(string name, bool stopped)
    {
        NameRules.Check("domain", name);
        return Write(scope =>
        {
            var existing = FindDomain(scope, name) ?? throw new EntityNotFoundException("domain", name);
            if (existing.Stopped == stopped)
            {
                return existing;
            }

            string key = DomainStoppedPrefix + name;
            if (stopped)
            {
                scope.Execute("INSERT INTO meta (key, value) VALUES ($k, $v)", ("$k", key), ("$v", scope.Version));
            }
            else
            {
                scope.Execute("DELETE FROM meta WHERE key = $k", ("$k", key));
            }

            // The domain's version rises so that peers' documents (which count it) rise too.
            scope.Execute("UPDATE domains SET version = $v WHERE name = $n", ("$v", scope.Version), ("$n", name));
            scope.MarkChanged();
            return existing with { Version = scope.Version, Stopped = stopped };
        });
    }
}
