using OverlayKvm.Core.DirectoryService;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.Policy;
using OverlayKvm.Core.Store;

namespace OverlayKvm.Core.Config;

/// <summary>
/// Builds the configuration document of one domain (R0.2) from a consistent store snapshot: exactly the
/// domain's apps with their Table 1 routes, the members of their groups with hosting domain, its address and
/// host (Table 2), and the live credentials of those groups only. Deterministic: same state, same bytes.
/// <see cref="DomainConfigDocument.Version"/> is the highest version among the records that contributed, so
/// changes elsewhere in the store leave it (and the digest) unchanged. Members whose host is not alive
/// (<see cref="Cluster.IHostLiveness"/>) are left out: the agent then has no route to them and counts what it drops
/// (no-route) instead of sealing frames towards a host that is gone; the digest changes, so the document is pushed.
/// Members of a domain its host saw stop (<see cref="DomainRecord.Stopped"/>) are left out the same way.
/// </summary>
public sealed class DomainConfigBuilder(IOverlayStore store)
{
    /// <summary>The daemon's policy defaults, written into every document (overlayd sets them from its options).</summary>
    public PolicyDefaults PolicyDefaults { get; init; } = PolicyDefaults.Standard;

    /// <summary>Which hosts are alive (a cluster's leases); on one host every host is.</summary>
    public Cluster.IHostLiveness Liveness { get; init; } = Cluster.EveryHostLive.Instance;

    /// <summary>The directory's classifier (trusted segments, table): decides every member's route in the document.</summary>
    public PathClassifier Paths { get; init; } = PathClassifier.Standard;

    public DomainConfigDocument Build(string domain, bool includeSecrets) =>
        Build(store.ReadSnapshot(), domain, includeSecrets, PolicyDefaults, Liveness.IsAlive, Paths);

    /// <summary>Builds from a given snapshot: lets a caller push to many domains from one read.</summary>
    public static DomainConfigDocument Build(StoreSnapshot snapshot, string domain, bool includeSecrets) =>
        Build(snapshot, domain, includeSecrets, PolicyDefaults.Standard);

    /// <summary>Builds from a given snapshot with the daemon's policy defaults.</summary>
    public static DomainConfigDocument Build(StoreSnapshot snapshot, string domain, bool includeSecrets, PolicyDefaults policyDefaults) =>
        Build(snapshot, domain, includeSecrets, policyDefaults, null);

    /// <param name="hostAlive">Null: every host is alive. Otherwise members on hosts it says are down are left out.</param>
    public static DomainConfigDocument Build(StoreSnapshot snapshot, string domain, bool includeSecrets, PolicyDefaults policyDefaults, Func<string, bool>? hostAlive) =>
        Build(snapshot, domain, includeSecrets, policyDefaults, hostAlive, PathClassifier.Standard);

    /// <param name="paths">Decides each member's route (path class, actions, fallback): the same classifier route-explain uses.</param>
    public static DomainConfigDocument Build(StoreSnapshot snapshot, string domain, bool includeSecrets, PolicyDefaults policyDefaults, Func<string, bool>? hostAlive,
        PathClassifier paths)
    {
        DomainRecord? self = null;
        var domains = new Dictionary<string, DomainRecord>(snapshot.Domains.Count, StringComparer.Ordinal);
        foreach (var record in snapshot.Domains)
        {
            domains[record.Name] = record;
            if (string.Equals(record.Name, domain, StringComparison.Ordinal))
            {
                self = record;
            }
        }

        if (self is null)
        {
            throw new EntityNotFoundException("domain", domain);
        }

        var version = self.Version;
        var localApps = new List<Application>();
        var groupNames = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var app in snapshot.Applications)
        {
            if (string.Equals(app.Domain, domain, StringComparison.Ordinal))
            {
                localApps.Add(app);
                groupNames.Add(app.Group);
            }
        }

        var groups = new Dictionary<string, ApplicationGroup>(StringComparer.Ordinal);
        foreach (var group in snapshot.Groups)
        {
            if (groupNames.Contains(group.Name))
            {
                groups[group.Name] = group;
                version = Math.Max(version, group.Version);
            }
        }

        var relations = GroupRelations.Compute(snapshot, policyDefaults);
        var neighborNames = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var name in groupNames)
        {
            if (relations.TryGetValue(name, out var others))
            {
                neighborNames.UnionWith(others);
            }
        }

        neighborNames.ExceptWith(groupNames);
        var spaces = new Dictionary<string, ApplicationGroup>(StringComparer.Ordinal);
        foreach (var group in snapshot.Groups)
        {
            spaces[group.Name] = group;
        }

        localApps.Sort(CompareApps);
        var appConfigs = new List<LocalAppConfig>(localApps.Count);
        foreach (var app in localApps)
        {
            version = Math.Max(version, app.Version);
            if (!groups.TryGetValue(app.Group, out var group))
            {
                throw new InvalidOperationException(
                    $"domain {domain}: app {app.Group}/{app.Name} refers to group {app.Group}, which the store snapshot at version {snapshot.Version} does not hold");
            }

            var routes = new List<RouteEntry> { new(group.AddressSpace.ToString(), RouteTables.AdapterGateway, RouteTables.GroupRouteWeight) };
            // Seed 002's directory view: the spaces of groups policy relates to this app's group go through the
            // same adapter (the agent decides per flow whether they may pass).
            if (relations.TryGetValue(app.Group, out var relatedGroups))
            {
                foreach (var other in relatedGroups)
                {
                    if (spaces.TryGetValue(other, out var otherGroup) && !otherGroup.AddressSpace.Equals(group.AddressSpace))
                    {
                        routes.Add(new RouteEntry(otherGroup.AddressSpace.ToString(), RouteTables.AdapterGateway, RouteTables.GroupRouteWeight));
                    }
                }
            }

            routes.Add(new RouteEntry(RouteTables.DefaultDestination, RouteTables.MainGateway, RouteTables.DefaultRouteWeight));
            appConfigs.Add(new LocalAppConfig(
                app.Group,
                app.Name,
                app.Address.ToString(),
                RouteTables.ForGroup(group.Number),
                routes,
                ToManifest(app.Manifest)));
        }

        var hostAddresses = new Dictionary<string, System.Net.IPAddress?>(StringComparer.Ordinal);
        foreach (var host in snapshot.Hosts)
        {
            hostAddresses[host.Name] = host.Address;
        }

        // The route to a member is decided from this domain as seen by one of its apps of the sending group: for a
        // neighbor, any local group it relates to (a different group, so never the engine: its region is per group).
        var sendingGroup = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in groupNames)
        {
            sendingGroup[name] = name;
        }

        foreach (var name in neighborNames)
        {
            foreach (var local in groupNames)
            {
                if (relations.TryGetValue(local, out var related) && related.Contains(name))
                {
                    sendingGroup[name] = local;
                    break;
                }
            }
        }

        var members = new Dictionary<string, List<MemberConfig>>(StringComparer.Ordinal);
        foreach (var name in groupNames)
        {
            members[name] = [];
        }

        foreach (var name in neighborNames)
        {
            members[name] = [];
        }

        foreach (var app in snapshot.Applications)
        {
            if (!members.TryGetValue(app.Group, out var list))
            {
                continue;
            }

            domains.TryGetValue(app.Domain, out var hosting);
            if (hosting is not null && hosting.Stopped && !string.Equals(app.Domain, domain, StringComparison.Ordinal))
            {
                // Destroyed or undefined on its host: unreachable until it starts again. Its version still counts,
                // so the document that drops it is newer than the one that listed it.
                version = Math.Max(version, hosting.Version);
                continue;
            }

            if (hosting is not null && hostAlive is not null && !string.Equals(app.Domain, domain, StringComparison.Ordinal)
                && !hostAlive(hosting.Host))
            {
                continue; // its host's lease expired: unreachable until it registers again
            }

            if (hosting?.Address is null && !string.Equals(app.Domain, domain, StringComparison.Ordinal))
            {
                // Another VM whose underlay address nobody declared yet: no frame can reach it, and an agent refuses
                // a whole document naming a member it cannot address (issue 14 item 9). Left out until domain-define
                // gives the VM its address — that write raises the domain's version and every peer's document.
                continue;
            }

            version = Math.Max(version, app.Version);
            if (hosting is not null)
            {
                version = Math.Max(version, hosting.Version);
            }

            var hostName = hosting?.Host ?? "";
            var from = MemberRouting.From(self.Name, self.Host, self.Address, hostAddresses.GetValueOrDefault(self.Host), sendingGroup.GetValueOrDefault(app.Group, app.Group));
            list.Add(MemberRouting.Route(
                new MemberConfig(app.Name, app.Address.ToString(), app.Domain, hosting?.Address?.ToString(), hostName),
                app.Group,
                spaces.TryGetValue(app.Group, out var targetGroup) ? targetGroup.Protection : ProtectionLevel.Sealed,
                from,
                paths,
                hostAddresses.GetValueOrDefault(hostName)));
        }

        var groupConfigs = new List<GroupConfig>(groupNames.Count);
        foreach (var name in groupNames)
        {
            var group = groups[name];
            var list = members[name];
            list.Sort(static (a, b) => string.CompareOrdinal(a.Name, b.Name));
            groupConfigs.Add(new GroupConfig(
                group.Name,
                group.AddressSpace.ToString(),
                group.Protection.ToString(),
                list,
                ToCredentials(snapshot, name, includeSecrets)) { Cipher = Model.GroupCiphers.Name(group.Cipher) });
        }

        var neighborConfigs = new List<NeighborGroupConfig>(neighborNames.Count);
        foreach (var name in neighborNames)
        {
            var group = spaces[name];
            version = Math.Max(version, group.Version);
            var list = members[name];
            list.Sort(static (a, b) => string.CompareOrdinal(a.Name, b.Name));
            var relatedTo = new List<string>();
            foreach (var local in groupNames)
            {
                if (relations[local].Contains(name))
                {
                    relatedTo.Add(local);
                }
            }

            neighborConfigs.Add(new NeighborGroupConfig(
                name,
                group.AddressSpace.ToString(),
                group.Protection.ToString(),
                relatedTo,
                list,
                ToSendCredentials(snapshot, name, self.Name, includeSecrets)) { Cipher = Model.GroupCiphers.Name(group.Cipher) });
        }

        // Relations come from policies attached anywhere (a neighbor's policy naming one of our groups): their
        // versions count, so adding one raises the version; a removal is caught by the digest.
        foreach (var policy in snapshot.Policies)
        {
            if (groupNames.Contains(policy.DestinationGroup) || neighborNames.Contains(policy.DestinationGroup))
            {
                version = Math.Max(version, policy.Version);
            }
        }

        var policies = DomainPolicySelection.Select(snapshot, groupNames);
        version = Math.Max(version, policies.Version);
        var document = new DomainConfigDocument(
            DomainConfigDocument.FormatFor(groupConfigs, neighborConfigs),
            self.Name,
            version,
            "",
            self.Address?.ToString(),
            self.Host,
            appConfigs,
            groupConfigs)
        {
            Policies = policies.Policies,
            GroupParents = policies.GroupParents,
            PolicyDefaults = PolicyDefaultsConfig.From(policyDefaults),
            Neighbors = neighborConfigs,
        };
        return DomainConfigDigest.WithDigest(document);
    }

    /// <summary>The neighbor group's live epochs as keys derived for <paramref name="domain"/> as a sender.</summary>
    private static List<CredentialConfig> ToSendCredentials(StoreSnapshot snapshot, string group, string domain, bool includeSecrets)
    {
        var list = new List<CredentialConfig>();
        if (!snapshot.Credentials.TryGetValue(group, out var credentials))
        {
            return list;
        }

        var groupId = Crypto.OverlayIds.GroupId(group);
        var sender = Crypto.OverlayIds.SenderIndex(domain);
        Span<byte> derived = stackalloc byte[Crypto.FrameKeySchedule.KeySize];
        foreach (var credential in credentials)
        {
            byte[] key = [];
            if (includeSecrets)
            {
                Crypto.FrameKeySchedule.DeriveSenderKey(credential.Key, groupId, (uint)credential.Epoch, sender, derived);
                key = derived.ToArray();
                System.Security.Cryptography.CryptographicOperations.ZeroMemory(derived);
            }

            list.Add(new CredentialConfig(credential.Epoch, key, credential.RetiresAt));
        }

        list.Sort(static (a, b) => a.Epoch.CompareTo(b.Epoch));
        return list;
    }

    private static int CompareApps(Application a, Application b)
    {
        var byGroup = string.CompareOrdinal(a.Group, b.Group);
        return byGroup != 0 ? byGroup : string.CompareOrdinal(a.Name, b.Name);
    }

    private static List<DataObjectConfig> ToManifest(IReadOnlyList<DataObject> manifest)
    {
        var list = new List<DataObjectConfig>(manifest.Count);
        foreach (var item in manifest)
        {
            list.Add(new DataObjectConfig(item.Name, item.Source, item.Sha256));
        }

        return list;
    }

    private static List<CredentialConfig> ToCredentials(StoreSnapshot snapshot, string group, bool includeSecrets)
    {
        var list = new List<CredentialConfig>();
        if (!snapshot.Credentials.TryGetValue(group, out var credentials))
        {
            return list;
        }

        foreach (var credential in credentials)
        {
            list.Add(new CredentialConfig(credential.Epoch, includeSecrets ? credential.Key.ToArray() : [], credential.RetiresAt));
        }

        list.Sort(static (a, b) => a.Epoch.CompareTo(b.Epoch));
        return list;
    }
}
