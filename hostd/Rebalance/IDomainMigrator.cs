namespace OverlayKvm.HostDaemon.Rebalance;

/// <summary>
/// Moves a running domain to another host of the cluster, live. <c>rebalance --apply</c> goes through this seam only
/// (the <c>domain-migrate</c> work brings the region detach/attach around a migration; it can replace the
/// implementation without touching the planner or the API). Returns when the hypervisors finished the migration;
/// the store follows from the destination's lifecycle event (docs/migration.md).
/// </summary>
internal interface IDomainMigrator
{
    /// <exception cref="DomainMigrationException">The migration failed; the message says why.</exception>
    Task MigrateAsync(string domain, string fromHost, string toHost, CancellationToken cancellationToken);
}

/// <summary>A migration that did not happen: the domain, both hosts and the hypervisor's reason.</summary>
internal sealed class DomainMigrationException(string message) : Exception(message);
