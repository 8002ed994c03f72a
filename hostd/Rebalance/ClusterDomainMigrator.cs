using OverlayKvm.Core.Api;
using OverlayKvm.HostDaemon.Hosting;
using OverlayKvm.HostDaemon.Libvirt;

namespace OverlayKvm.HostDaemon.Rebalance;

/// <summary>
/// How <c>rebalance --apply</c> moves a domain. A domain of this host goes through <c>domain-migrate</c>'s own steps
/// (<see cref="DomainMigrator"/>: the agent leaves the engine, the regions are unplugged, live migration, the
/// destination plugs its regions): the only way a member with engine regions can migrate at all. A domain of another
/// host is that host's overlayd's to unplug, and overlayds do not call each other; it goes through
/// <see cref="VirshDomainMigrator"/>, which libvirt refuses with its own message if the domain still has regions
/// (then run the apply, or <c>domain-migrate</c>, on that host).
/// </summary>
internal sealed class ClusterDomainMigrator(LocalHost host, DomainMigrator local, VirshDomainMigrator remote) : IDomainMigrator
{
    public async Task MigrateAsync(string domain, string fromHost, string toHost, CancellationToken cancellationToken)
    {
        if (!string.Equals(fromHost, host.Name, StringComparison.Ordinal))
        {
            await remote.MigrateAsync(domain, fromHost, toHost, cancellationToken).ConfigureAwait(false);
            return;
        }

        try
        {
            await local.MigrateAsync(domain, new MigrateRequest(toHost), cancellationToken).ConfigureAwait(false);
        }
        catch (MigrationRefusedException ex)
        {
            throw new DomainMigrationException(ex.Message);
        }
    }
}
