using System.Net;
using OverlayKvm.Core.Model;
using OverlayKvm.Core.Model.Validation;
using OverlayKvm.Core.Policy;
using OverlayKvm.Core.Store;

// Not "…Directory": a namespace of that name would hide System.IO.Directory in every file below OverlayKvm.Core.
namespace OverlayKvm.Core.DirectoryService;

/// <summary>
/// The directory service's data at one store version (seed 002 R1, R2, R4): the mapping from app address to
/// location, the transformation table, and the compiled policies, so that one lookup yields path, actions and
/// verdict. Built once per version and then read-only, so any number of threads may look up concurrently.
/// Addresses are keyed without a group id because the store refuses overlapping group spaces (R0.3): an
/// address names one app in the whole deployment (see docs/directory.md for the alternative).
/// </summary>
public sealed class OverlayDirectory
{
    private readonly Dictionary<IPAddress, DirectoryEntry> _byAddress;
    private readonly Dictionary<(string Group, string App), DirectoryEntry> _byName;
    private readonly Dictionary<IPAddress, PolicyEndpoint> _endpoints;
    private readonly Dictionary<string, ProtectionLevel> _protection;

    private OverlayDirectory(long version, PolicySet policies, PathClassifier paths, int capacity)
    {
        Version = version;
        Policies = policies;
        Paths = paths;
        _protection = new Dictionary<string, ProtectionLevel>(StringComparer.Ordinal);
        _byAddress = new Dictionary<IPAddress, DirectoryEntry>(capacity);
        _byName = new Dictionary<(string, string), DirectoryEntry>(capacity);
        _endpoints = new Dictionary<IPAddress, PolicyEndpoint>(capacity);
    }

    public long Version { get; }

    public PolicySet Policies { get; }

    public TransformationTable Table => Paths.Table;

    /// <summary>The classifier that decides paths and actions, shared with the documents the agents execute.</summary>
    public PathClassifier Paths { get; }

    public int Count => _byAddress.Count;

    /// <summary>Every mapping, sorted by group then app (for listings; lookups use <see cref="TryFind(IPAddress, out DirectoryEntry?)"/>).</summary>
    public IReadOnlyList<DirectoryEntry> Entries()
    {
        var list = new List<DirectoryEntry>(_byAddress.Values);
        list.Sort(static (a, b) => string.CompareOrdinal(a.Group, b.Group) is var byGroup and not 0 ? byGroup : string.CompareOrdinal(a.App, b.App));
        return list;
    }

    /// <param name="trustedSegments">Underlay ranges the operator trusts: VMs whose addresses share one get <see cref="PathClass.TrustedSegment"/>.</param>
    public static OverlayDirectory Build(StoreSnapshot snapshot, PolicyDefaults defaults, TransformationTable table, IReadOnlyList<IPNetwork> trustedSegments) =>
        Build(snapshot, defaults, new PathClassifier(trustedSegments, table), null);

    /// <param name="hostAlive">Null: every host is alive; otherwise entries on hosts it says are down are marked unreachable.</param>
    public static OverlayDirectory Build(StoreSnapshot snapshot, PolicyDefaults defaults, TransformationTable table, IReadOnlyList<IPNetwork> trustedSegments,
        Func<string, bool>? hostAlive) =>
        Build(snapshot, defaults, new PathClassifier(trustedSegments, table), hostAlive);

    /// <param name="paths">The classifier (trusted segments, table): the same one the configuration documents are built with.</param>
    /// <param name="hostAlive">Null: every host is alive; otherwise entries on hosts it says are down are marked unreachable.</param>
    public static OverlayDirectory Build(StoreSnapshot snapshot, PolicyDefaults defaults, PathClassifier paths, Func<string, bool>? hostAlive)
    {
        var policies = PolicySet.Compile(snapshot, defaults);
        var directory = new OverlayDirectory(snapshot.Version, policies, paths, snapshot.Applications.Count);
        foreach (var group in snapshot.Groups)
        {
            directory._protection[group.Name] = group.Protection;
        }

        var domains = new Dictionary<string, DomainRecord>(StringComparer.Ordinal);
        foreach (var domain in snapshot.Domains)
        {
            domains[domain.Name] = domain;
        }

        var hosts = new Dictionary<string, HostRecord>(StringComparer.Ordinal);
        foreach (var host in snapshot.Hosts)
        {
            hosts[host.Name] = host;
        }

        foreach (var app in snapshot.Applications)
        {
            domains.TryGetValue(app.Domain, out var domain);
            var hostName = domain?.Host ?? "";
            hosts.TryGetValue(hostName, out var host);
            var address = AddressMath.Canonical(app.Address);
            var entry = new DirectoryEntry(app.Group, app.Name, address, app.Domain, hostName, domain?.Address, host?.Address)
            {
                // A stopped domain (destroyed or undefined on its host) is as unreachable as one on a dead host.
                Reachable = domain is not { Stopped: true } && (hostAlive is null || hostName.Length == 0 || hostAlive(hostName)),
            };
            directory._byAddress[address] = entry;
            directory._byName[(app.Group, app.Name)] = entry;
            directory._endpoints[address] = policies.Endpoint(app.Group, app.Name, address);
        }

        return directory;
    }

    public bool TryFind(IPAddress address, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out DirectoryEntry? entry) =>
        _byAddress.TryGetValue(AddressMath.Canonical(address), out entry);

    public bool TryFind(string group, string app, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out DirectoryEntry? entry) =>
        _byName.TryGetValue((group, app), out entry);

    /// <summary>
    /// Anti-spoofing (seed 003 R3.12, R3.18): true only when <paramref name="appAddress"/> belongs to an app whose
    /// domain has exactly <paramref name="outerSource"/> as its address, i.e. the frame came from the VM that
    /// hosts the claimed inner source. Unknown apps and VMs without a known address never pass.
    /// </summary>
    public bool IsHostedAt(IPAddress appAddress, IPAddress outerSource) =>
        TryFind(appAddress, out var entry)
        && entry.DomainAddress is { } domainAddress
        && domainAddress.Equals(AddressMath.Canonical(outerSource));

    /// <summary>
    /// Path, actions and verdict for a flow between two known apps (R4's two-stage lookup: mapping, then table), as
    /// the agents carry it out (their documents carry the same classifier's actions): within one VM the VM's kernel
    /// delivers (local, whatever the verdict); a denied flow is dropped; a same-host flow whose group's engine is
    /// switched off (<paramref name="engineEnabled"/> says false for the group) takes its fallback (the network path's
    /// actions); a destination whose host is down is dropped (the agents have no route to it).
    /// </summary>
    public RouteLookup Lookup(DirectoryEntry source, DirectoryEntry destination, byte protocol, ushort port, Func<string, bool>? engineEnabled = null)
    {
        var decision = Policies.Evaluate(_endpoints[source.Address], _endpoints[destination.Address], protocol, port);
        var path = Decide(source, destination);
        IReadOnlyList<string> hops = path.Path == PathClass.SameVm
            ? []
            : [source.DomainAddress?.ToString() ?? "?", destination.DomainAddress?.ToString() ?? "?"];
        IReadOnlyList<TransformAction> actions =
            path.Path == PathClass.SameVm ? path.Actions
            : !decision.IsAllowed || !destination.Reachable ? [TransformAction.Drop]
            : path.Path == PathClass.SameHost && engineEnabled?.Invoke(source.Group) == false ? path.Fallback
            : path.Actions;
        var reason = !destination.Reachable && path.Path != PathClass.SameVm ? $"host {destination.Host} is down; {path.Reason}" : path.Reason;
        return new RouteLookup(source, destination, protocol, port, path.Path, hops, actions, decision, Version) { PathReason = reason };
    }

    /// <summary>The classifier's decision for this pair, with the destination group's protection level.</summary>
    public PathDecision Decide(DirectoryEntry source, DirectoryEntry destination) =>
        Paths.Decide(source, destination, _protection.GetValueOrDefault(destination.Group, ProtectionLevel.Sealed));

    /// <summary>See <see cref="PathClassifier.Classify"/>.</summary>
    public PathClass Classify(DirectoryEntry source, DirectoryEntry destination) => Paths.Classify(source, destination);
}
