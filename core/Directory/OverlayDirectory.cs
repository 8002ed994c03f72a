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
    private readonly IReadOnlyList<IPNetwork> _trustedSegments;

    private OverlayDirectory(long version, PolicySet policies, TransformationTable table, IReadOnlyList<IPNetwork> trustedSegments, int capacity)
    {
        Version = version;
        Policies = policies;
        Table = table;
        _trustedSegments = trustedSegments;
        _byAddress = new Dictionary<IPAddress, DirectoryEntry>(capacity);
        _byName = new Dictionary<(string, string), DirectoryEntry>(capacity);
        _endpoints = new Dictionary<IPAddress, PolicyEndpoint>(capacity);
    }

    public long Version { get; }

    public PolicySet Policies { get; }

    public TransformationTable Table { get; }

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
        Build(snapshot, defaults, table, trustedSegments, null);

    /// <param name="hostAlive">Null: every host is alive; otherwise entries on hosts it says are down are marked unreachable.</param>
    public static OverlayDirectory Build(StoreSnapshot snapshot, PolicyDefaults defaults, TransformationTable table, IReadOnlyList<IPNetwork> trustedSegments,
        Func<string, bool>? hostAlive)
    {
        var policies = PolicySet.Compile(snapshot, defaults);
        var directory = new OverlayDirectory(snapshot.Version, policies, table, trustedSegments, snapshot.Applications.Count);
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
    /// the agents carry it out: within one VM the VM's kernel delivers (local, whatever the verdict); a denied flow
    /// is dropped; a same-host flow whose group's engine is switched off (<paramref name="engineEnabled"/> says
    /// false for the group) takes the sealed path's actions; a destination whose host is down is dropped (the agents have
    /// no route to it).
    /// </summary>
    public RouteLookup Lookup(DirectoryEntry source, DirectoryEntry destination, byte protocol, ushort port, Func<string, bool>? engineEnabled = null)
    {
        var decision = Policies.Evaluate(_endpoints[source.Address], _endpoints[destination.Address], protocol, port);
        var path = Classify(source, destination);
        IReadOnlyList<string> hops = path == PathClass.SameVm
            ? []
            : [source.DomainAddress?.ToString() ?? "?", destination.DomainAddress?.ToString() ?? "?"];
        IReadOnlyList<TransformAction> actions =
            path == PathClass.SameVm ? Table.ActionsFor(path)
            : !decision.IsAllowed || !destination.Reachable ? [TransformAction.Drop]
            : path == PathClass.SameHost && engineEnabled?.Invoke(source.Group) == false ? Table.ActionsFor(PathClass.Untrusted)
            : Table.ActionsFor(path);
        return new RouteLookup(source, destination, protocol, port, path, hops, actions, decision, Version);
    }

    /// <summary>
    /// Same domain → same VM; same host and same group → engine; both VM (or, lacking those, host) addresses inside one trusted
    /// segment → trusted; everything else is untrusted and sealed (the safe default: no segment is trusted unless configured).
    /// </summary>
    public PathClass Classify(DirectoryEntry source, DirectoryEntry destination)
    {
        if (string.Equals(source.Domain, destination.Domain, StringComparison.Ordinal))
        {
            return PathClass.SameVm;
        }

        // The engine's back channel is one region per group: two groups on one host still meet on the network.
        if (source.Host.Length > 0 && string.Equals(source.Host, destination.Host, StringComparison.Ordinal)
            && string.Equals(source.Group, destination.Group, StringComparison.Ordinal))
        {
            return PathClass.SameHost;
        }

        var a = source.DomainAddress ?? source.HostAddress;
        var b = destination.DomainAddress ?? destination.HostAddress;
        if (a is not null && b is not null)
        {
            foreach (var segment in _trustedSegments)
            {
                if (segment.Contains(a) && segment.Contains(b))
                {
                    return PathClass.TrustedSegment;
                }
            }
        }

        return PathClass.Untrusted;
    }
}
