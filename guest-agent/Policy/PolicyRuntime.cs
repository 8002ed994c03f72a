using System.Net;
using OverlayKvm.Core.Config;
using OverlayKvm.Core.Model.Validation;
using OverlayKvm.Core.Policy;
using OverlayKvm.Core.Store;
using OverlayKvm.GuestAgent.Config;

namespace OverlayKvm.GuestAgent.Policy;

/// <summary>
/// The policy side of one configuration version: the policies this VM is the authority for (those attached to
/// its own groups or their ancestors, seed 004 R4.8) compiled once, and an evaluation endpoint per known overlay
/// address so a decision needs no strings or parsing. A destination in a neighbor group is not ours to decide:
/// the transmission manager negotiates it with the destination's agent.
/// </summary>
internal sealed class PolicyRuntime
{
    public static readonly PolicyRuntime Empty = new(
        PolicySet.Compile([], [], [], PolicyDefaults.Standard), new Dictionary<uint, PolicyEndpoint>(), new HashSet<uint>());

    private readonly PolicySet _set;
    private readonly Dictionary<uint, PolicyEndpoint> _endpoints;
    private readonly HashSet<uint> _authority;

    private PolicyRuntime(PolicySet set, Dictionary<uint, PolicyEndpoint> endpoints, HashSet<uint> authority)
    {
        _set = set;
        _endpoints = endpoints;
        _authority = authority;
    }

    public int PolicyCount => _set.PolicyCount;

    /// <summary>Compiles the document's policies; a malformed policy throws <see cref="ConfigCompileException"/> naming it.</summary>
    public static PolicyRuntime Compile(DomainConfigDocument doc, IReadOnlyDictionary<uint, GroupRuntime> groups, IReadOnlyDictionary<uint, GroupRuntime> neighbors)
    {
        PolicySet set;
        try
        {
            set = PolicyConfigConversion.Compile(doc);
        }
        catch (ModelValidationException ex)
        {
            throw new ConfigCompileException([$"policies: {ex.Message}"]);
        }
        var endpoints = new Dictionary<uint, PolicyEndpoint>();
        var authority = new HashSet<uint>();
        foreach (var group in groups.Values)
        {
            authority.Add(group.Id);
            AddEndpoints(set, group, endpoints);
        }
        foreach (var group in neighbors.Values)
        {
            AddEndpoints(set, group, endpoints);
        }
        return new PolicyRuntime(set, endpoints, authority);
    }

    /// <summary>True when this VM holds every policy that decides traffic to <paramref name="destinationGroup"/>.</summary>
    public bool IsAuthorityFor(uint destinationGroup) => _authority.Contains(destinationGroup);

    /// <summary>Decides a flow between two known addresses; false when either address is unknown here.</summary>
    public bool TryDecide(uint source, uint destination, byte protocol, ushort port, out PolicyDecision decision)
    {
        if (!_endpoints.TryGetValue(source, out var from) || !_endpoints.TryGetValue(destination, out var to))
        {
            decision = default;
            return false;
        }
        decision = _set.Evaluate(from, to, protocol, port);
        return true;
    }

    private static void AddEndpoints(PolicySet set, GroupRuntime group, Dictionary<uint, PolicyEndpoint> endpoints)
    {
        foreach (var member in group.Members.Values)
        {
            var address = AddressMath.FromNumber(member.Address, System.Net.Sockets.AddressFamily.InterNetwork);
            endpoints.TryAdd(member.Address, set.Endpoint(group.Name, member.App, address));
        }
    }
}
